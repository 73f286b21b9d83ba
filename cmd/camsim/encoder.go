package main

// #cgo pkg-config: libavcodec libavutil
// #include <errno.h>
// #include <stdlib.h>
// #include <libavcodec/avcodec.h>
// #include <libavutil/dict.h>
// #include <libavutil/error.h>
// #include <libavutil/log.h>
//
// static int errAgain(void) { return AVERROR(EAGAIN); }
// static int errEOF(void) { return AVERROR_EOF; }
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// encoderConfig is what the H.264 encoder needs to know.
type encoderConfig struct {
	Width, Height int
	FPS           int
	GOPFrames     int // IDR interval in frames
	BFrames       int
	Bitrate       int // bits per second
	Threads       int
	NoiseSeed     uint64
}

// encodedFrame is one access unit as the encoder gave it, in decode order.
type encodedFrame struct {
	AU  [][]byte // NAL units without start codes
	PTS int64    // presentation time in frames
	IDR bool
}

// h264Encoder is libx264 through libavcodec: High profile, SPS and PPS repeated
// before every IDR, IDRs exactly every GOPFrames frames. It takes RGBA
// pictures, converts what changed since the last one to YUV and adds sensor
// noise.
type h264Encoder struct {
	width, height int
	gopFrames     int

	ctx   *C.AVCodecContext
	frame *C.AVFrame
	pkt   *C.AVPacket

	pic   *yuvPicture
	noise *sensorNoise
}

func newH264Encoder(cfg encoderConfig) (*h264Encoder, error) {
	// libx264 prints its settings and statistics at the info level, several
	// lines per encoder; only errors are worth a line of ours.
	C.av_log_set_level(C.AV_LOG_ERROR)

	var cstrs []*C.char
	cstr := func(s string) *C.char {
		p := C.CString(s)
		cstrs = append(cstrs, p)
		return p
	}
	defer func() {
		for _, p := range cstrs {
			C.free(unsafe.Pointer(p))
		}
	}()

	codec := C.avcodec_find_encoder_by_name(cstr("libx264"))
	if codec == nil {
		return nil, errors.New("libavcodec has no libx264 encoder")
	}
	e := &h264Encoder{width: cfg.Width, height: cfg.Height, gopFrames: cfg.GOPFrames}
	e.ctx = C.avcodec_alloc_context3(codec)
	if e.ctx == nil {
		return nil, errors.New("avcodec_alloc_context3 failed")
	}
	c := e.ctx
	c.width = C.int(cfg.Width)
	c.height = C.int(cfg.Height)
	c.pix_fmt = C.AV_PIX_FMT_YUV420P
	c.time_base = C.AVRational{num: 1, den: C.int(cfg.FPS)}
	c.framerate = C.AVRational{num: C.int(cfg.FPS), den: 1}
	c.gop_size = C.int(cfg.GOPFrames)
	c.keyint_min = C.int(cfg.GOPFrames)
	c.max_b_frames = C.int(cfg.BFrames)
	c.bit_rate = C.int64_t(cfg.Bitrate)
	c.rc_max_rate = C.int64_t(cfg.Bitrate)
	c.rc_buffer_size = C.int(cfg.Bitrate)
	c.thread_count = C.int(max(1, cfg.Threads))

	// ultrafast would turn off CABAC and 8x8 transforms (a baseline-like
	// stream); superfast keeps those High profile tools and is about 30% faster
	// than veryfast here. zerolatency drops the lookahead; max_b_frames above is
	// applied after the tune, so -bframes still works with it. forced-idr makes
	// the I-frames we ask for at each GOP start IDRs.
	opts := [][2]string{
		{"preset", "superfast"},
		{"tune", "zerolatency"},
		{"profile", "high"},
		{"sc_threshold", "0"},
		{"forced-idr", "1"},
		{"x264-params", "repeat-headers=1:open-gop=0"},
	}
	var dict *C.AVDictionary
	for _, o := range opts {
		C.av_dict_set(&dict, cstr(o[0]), cstr(o[1]), 0)
	}
	res := C.avcodec_open2(c, codec, &dict)
	var unused []string
	for e := C.av_dict_get(dict, cstr(""), nil, C.AV_DICT_IGNORE_SUFFIX); e != nil; e = C.av_dict_get(dict, cstr(""), e, C.AV_DICT_IGNORE_SUFFIX) {
		unused = append(unused, C.GoString(e.key))
	}
	C.av_dict_free(&dict)
	if res < 0 {
		e.close()
		return nil, fmt.Errorf("open libx264: %s", averr(res))
	}
	if len(unused) > 0 {
		e.close()
		return nil, fmt.Errorf("open libx264: options not recognized: %v", unused)
	}

	e.frame = C.av_frame_alloc()
	if e.frame == nil {
		e.close()
		return nil, errors.New("av_frame_alloc failed")
	}
	e.frame.format = C.AV_PIX_FMT_YUV420P
	e.frame.width = c.width
	e.frame.height = c.height
	if res := C.av_frame_get_buffer(e.frame, 0); res < 0 {
		e.close()
		return nil, fmt.Errorf("av_frame_get_buffer: %s", averr(res))
	}
	e.pic = newYUVPicture(cfg.Width, cfg.Height)
	e.noise = newSensorNoise(cfg.NoiseSeed, cfg.Width)
	e.pkt = C.av_packet_alloc()
	if e.pkt == nil {
		e.close()
		return nil, errors.New("av_packet_alloc failed")
	}
	return e, nil
}

// encode sends the picture of frame pts (in frames) and returns the access
// units the encoder has ready, in decode order (none while it fills its B-frame
// delay).
func (e *h264Encoder) encode(img *image.RGBA, pts int64) ([]encodedFrame, error) {
	if img.Rect.Dx() != e.width || img.Rect.Dy() != e.height {
		return nil, fmt.Errorf("picture is %v, encoder wants %dx%d", img.Rect.Size(), e.width, e.height)
	}
	if res := C.av_frame_make_writable(e.frame); res < 0 {
		return nil, fmt.Errorf("av_frame_make_writable: %s", averr(res))
	}
	e.pic.update(img)
	w, h := e.width, e.height
	for row := range h {
		dst := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(e.frame.data[0]), row*int(e.frame.linesize[0]))), w)
		e.noise.addRow(dst, e.pic.y[row*w:(row+1)*w], int(pts), row)
	}
	for row := range h / 2 {
		u := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(e.frame.data[1]), row*int(e.frame.linesize[1]))), w/2)
		v := unsafe.Slice((*byte)(unsafe.Add(unsafe.Pointer(e.frame.data[2]), row*int(e.frame.linesize[2]))), w/2)
		copy(u, e.pic.u[row*w/2:])
		copy(v, e.pic.v[row*w/2:])
	}
	e.frame.pts = C.int64_t(pts)
	// Force the IDR where the GOP starts, so the loop is always whole GOPs.
	e.frame.pict_type = C.AV_PICTURE_TYPE_NONE
	if pts%int64(e.gopFrames) == 0 {
		e.frame.pict_type = C.AV_PICTURE_TYPE_I
	}
	if res := C.avcodec_send_frame(e.ctx, e.frame); res < 0 {
		return nil, fmt.Errorf("avcodec_send_frame: %s", averr(res))
	}
	return e.receive()
}

// flush drains the frames the encoder still holds.
func (e *h264Encoder) flush() ([]encodedFrame, error) {
	if res := C.avcodec_send_frame(e.ctx, nil); res < 0 {
		return nil, fmt.Errorf("avcodec_send_frame(flush): %s", averr(res))
	}
	return e.receive()
}

func (e *h264Encoder) receive() ([]encodedFrame, error) {
	var out []encodedFrame
	for {
		res := C.avcodec_receive_packet(e.ctx, e.pkt)
		if res == C.errAgain() || res == C.errEOF() {
			return out, nil
		}
		if res < 0 {
			return nil, fmt.Errorf("avcodec_receive_packet: %s", averr(res))
		}
		data := C.GoBytes(unsafe.Pointer(e.pkt.data), e.pkt.size)
		pts := int64(e.pkt.pts)
		C.av_packet_unref(e.pkt)

		var au h264.AnnexB
		if err := au.Unmarshal(data); err != nil {
			return nil, fmt.Errorf("split access unit: %w", err)
		}
		out = append(out, encodedFrame{AU: au, PTS: pts, IDR: h264.IsRandomAccess(au)})
	}
}

func (e *h264Encoder) close() {
	if e.pkt != nil {
		C.av_packet_free(&e.pkt)
	}
	if e.frame != nil {
		C.av_frame_free(&e.frame)
	}
	if e.ctx != nil {
		C.avcodec_free_context(&e.ctx)
	}
}

func averr(code C.int) string {
	buf := make([]byte, 128)
	C.av_strerror(code, (*C.char)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)))
	for i, b := range buf {
		if b == 0 {
			return string(buf[:i])
		}
	}
	return string(buf)
}
