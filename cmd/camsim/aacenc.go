package main

// #cgo pkg-config: libavcodec libavutil
// #include <stdlib.h>
// #include <libavcodec/avcodec.h>
// #include <libavutil/channel_layout.h>
//
// static int aacErrAgain(void) { return AVERROR(EAGAIN); }
// static int aacErrEOF(void) { return AVERROR_EOF; }
//
// // Mono float-planar input at rate, AAC-LC at 64 kbit/s.
// static void aacSetup(AVCodecContext *c, int rate) {
//	c->sample_fmt = AV_SAMPLE_FMT_FLTP;
//	c->sample_rate = rate;
//	av_channel_layout_default(&c->ch_layout, 1);
//	c->bit_rate = 64000;
//	c->profile = FF_PROFILE_AAC_LOW;
//	c->time_base = (AVRational){1, rate};
// }
//
// static int aacFrame(AVCodecContext *c, AVFrame *f) {
//	f->format = c->sample_fmt;
//	f->nb_samples = c->frame_size;
//	f->sample_rate = c->sample_rate;
//	int res = av_channel_layout_copy(&f->ch_layout, &c->ch_layout);
//	if (res < 0) return res;
//	return av_frame_get_buffer(f, 0);
// }
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// encodeAACLoop encodes a looping sound with libavcodec's native AAC
// encoder and returns one loop of access units (raw, without ADTS). The
// sound is encoded three times over and the middle pass kept, so the
// encoder's start-up delay is behind it and its last access unit leads
// into its first as the sound itself does. len(pcm) must be a multiple of
// 1024.
func encodeAACLoop(pcm []float32, rate int) ([][]byte, error) {
	name := C.CString("aac")
	defer C.free(unsafe.Pointer(name))
	codec := C.avcodec_find_encoder_by_name(name)
	if codec == nil {
		return nil, errors.New("libavcodec has no aac encoder")
	}
	ctx := C.avcodec_alloc_context3(codec)
	if ctx == nil {
		return nil, errors.New("avcodec_alloc_context3 failed")
	}
	defer C.avcodec_free_context(&ctx)
	C.aacSetup(ctx, C.int(rate))
	if res := C.avcodec_open2(ctx, codec, nil); res < 0 {
		return nil, fmt.Errorf("open aac encoder: %s", averr(res))
	}
	n := int(ctx.frame_size)
	if n <= 0 || len(pcm)%n != 0 {
		return nil, fmt.Errorf("aac frame size %d does not divide %d samples", n, len(pcm))
	}
	frame := C.av_frame_alloc()
	if frame == nil {
		return nil, errors.New("av_frame_alloc failed")
	}
	defer C.av_frame_free(&frame)
	if res := C.aacFrame(ctx, frame); res < 0 {
		return nil, fmt.Errorf("aac frame: %s", averr(res))
	}
	pkt := C.av_packet_alloc()
	if pkt == nil {
		return nil, errors.New("av_packet_alloc failed")
	}
	defer C.av_packet_free(&pkt)

	var out [][]byte
	receive := func() error {
		for {
			res := C.avcodec_receive_packet(ctx, pkt)
			if res == C.aacErrAgain() || res == C.aacErrEOF() {
				return nil
			}
			if res < 0 {
				return fmt.Errorf("avcodec_receive_packet: %s", averr(res))
			}
			out = append(out, C.GoBytes(unsafe.Pointer(pkt.data), pkt.size))
			C.av_packet_unref(pkt)
		}
	}
	frames := len(pcm) / n
	for i := range 3 * frames {
		if res := C.av_frame_make_writable(frame); res < 0 {
			return nil, fmt.Errorf("av_frame_make_writable: %s", averr(res))
		}
		dst := unsafe.Slice((*float32)(unsafe.Pointer(frame.data[0])), n)
		copy(dst, pcm[(i%frames)*n:])
		frame.pts = C.int64_t(i * n)
		if res := C.avcodec_send_frame(ctx, frame); res < 0 {
			return nil, fmt.Errorf("avcodec_send_frame: %s", averr(res))
		}
		if err := receive(); err != nil {
			return nil, err
		}
	}
	if res := C.avcodec_send_frame(ctx, nil); res < 0 {
		return nil, fmt.Errorf("avcodec_send_frame(flush): %s", averr(res))
	}
	if err := receive(); err != nil {
		return nil, err
	}
	if len(out) < 2*frames {
		return nil, fmt.Errorf("aac encoder gave %d access units for %d frames", len(out), 3*frames)
	}
	return out[frames : 2*frames], nil
}
