package av

// #include <stdlib.h>
// #include <libavcodec/avcodec.h>
// #include <libavutil/channel_layout.h>
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

// AACFrame is the number of samples in an AAC-LC access unit.
const AACFrame = 1024

// EncodeAAC encodes mono samples (from -1 to 1) at rate with libavcodec's
// native AAC encoder (AAC-LC, 64 kbit/s) and returns the access units (raw,
// without ADTS), the encoder's delay flushed at the end. len(pcm) must be a
// multiple of AACFrame.
func EncodeAAC(pcm []float32, rate int) ([][]byte, error) {
	if len(pcm) == 0 || len(pcm)%AACFrame != 0 {
		return nil, fmt.Errorf("AAC encoder: %d samples, want a positive multiple of %d", len(pcm), AACFrame)
	}
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
		return nil, avError("open aac encoder", res)
	}
	n := int(ctx.frame_size)
	if n != AACFrame {
		return nil, fmt.Errorf("aac encoder takes frames of %d samples, want %d", n, AACFrame)
	}
	frame := C.av_frame_alloc()
	if frame == nil {
		return nil, errors.New("av_frame_alloc failed")
	}
	defer C.av_frame_free(&frame)
	if res := C.aacFrame(ctx, frame); res < 0 {
		return nil, avError("aac frame", res)
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
			if res == -C.EAGAIN || res == C.AVERROR_EOF {
				return nil
			}
			if res < 0 {
				return avError("avcodec_receive_packet", res)
			}
			out = append(out, C.GoBytes(unsafe.Pointer(pkt.data), pkt.size))
			C.av_packet_unref(pkt)
		}
	}
	for i := 0; i < len(pcm); i += n {
		if res := C.av_frame_make_writable(frame); res < 0 {
			return nil, avError("av_frame_make_writable", res)
		}
		copy(unsafe.Slice((*float32)(unsafe.Pointer(frame.data[0])), n), pcm[i:i+n])
		frame.pts = C.int64_t(i)
		if res := C.avcodec_send_frame(ctx, frame); res < 0 {
			return nil, avError("avcodec_send_frame", res)
		}
		if err := receive(); err != nil {
			return nil, err
		}
	}
	if res := C.avcodec_send_frame(ctx, nil); res < 0 {
		return nil, avError("avcodec_send_frame(flush)", res)
	}
	if err := receive(); err != nil {
		return nil, err
	}
	return out, nil
}
