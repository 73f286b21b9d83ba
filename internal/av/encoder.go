package av

// #include <stdlib.h>
// #include <libavcodec/avcodec.h>
// #include <libavutil/dict.h>
// #include <libavutil/log.h>
//
// static int h264Frame(AVFrame *f, int width, int height) {
//	f->format = AV_PIX_FMT_YUV420P;
//	f->width = width;
//	f->height = height;
//	return av_frame_get_buffer(f, 0);
// }
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
)

// EncoderConfig is what the H.264 encoder needs to know.
type EncoderConfig struct {
	Width, Height int
	FPS           int
	GOPFrames     int // IDR interval in frames
	BFrames       int
	Bitrate       int // bits per second
	Threads       int
}

// EncodedFrame is one access unit as the encoder gave it, in decode order.
type EncodedFrame struct {
	AU  [][]byte // NAL units without start codes
	PTS int64    // presentation time in frames
	IDR bool
}

// H264Encoder is libx264 through libavcodec: High profile, SPS and PPS
// repeated before every IDR, IDRs exactly every GOPFrames frames. The caller
// fills the encoder's own 4:2:0 picture (Picture) and then encodes it, so a
// frame is written once, in place. It is not safe for concurrent use.
type H264Encoder struct {
	width, height int
	gopFrames     int

	ctx   *C.AVCodecContext
	frame *C.AVFrame
	pkt   *C.AVPacket
}

// NewH264Encoder opens libx264 for cfg. It sets FFmpeg's log level to
// errors only, for the whole process: libx264 prints its settings and
// statistics at the info level, several lines per encoder.
func NewH264Encoder(cfg EncoderConfig) (*H264Encoder, error) {
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width%2 != 0 || cfg.Height%2 != 0 || cfg.FPS <= 0 || cfg.GOPFrames <= 0 {
		return nil, fmt.Errorf("encoder: %dx%d at %d fps with a GOP of %d frames: want an even size and positive rates", cfg.Width, cfg.Height, cfg.FPS, cfg.GOPFrames)
	}
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
	e := &H264Encoder{width: cfg.Width, height: cfg.Height, gopFrames: cfg.GOPFrames}
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
		e.Close()
		return nil, avError("open libx264", res)
	}
	if len(unused) > 0 {
		e.Close()
		return nil, fmt.Errorf("open libx264: options not recognized: %v", unused)
	}

	e.frame = C.av_frame_alloc()
	if e.frame == nil {
		e.Close()
		return nil, errors.New("av_frame_alloc failed")
	}
	if res := C.h264Frame(e.frame, c.width, c.height); res < 0 {
		e.Close()
		return nil, avError("av_frame_get_buffer", res)
	}
	e.pkt = C.av_packet_alloc()
	if e.pkt == nil {
		e.Close()
		return nil, errors.New("av_packet_alloc failed")
	}
	return e, nil
}

// Picture returns the picture the next Encode sends, to be filled in
// place: its planes are the encoder's memory (FFmpeg's, not Go's), valid
// until that Encode. They still hold the previous picture.
func (e *H264Encoder) Picture() (*image.YCbCr, error) {
	if res := C.av_frame_make_writable(e.frame); res < 0 {
		return nil, avError("av_frame_make_writable", res)
	}
	f := e.frame
	ys, cs := int(f.linesize[0]), int(f.linesize[1])
	ch := e.height / 2
	return &image.YCbCr{
		Y:              unsafe.Slice((*byte)(unsafe.Pointer(f.data[0])), ys*(e.height-1)+e.width),
		Cb:             unsafe.Slice((*byte)(unsafe.Pointer(f.data[1])), cs*(ch-1)+e.width/2),
		Cr:             unsafe.Slice((*byte)(unsafe.Pointer(f.data[2])), cs*(ch-1)+e.width/2),
		YStride:        ys,
		CStride:        cs,
		SubsampleRatio: image.YCbCrSubsampleRatio420,
		Rect:           image.Rect(0, 0, e.width, e.height),
	}, nil
}

// Encode sends the picture (see Picture) as frame pts (in frames) and
// returns the access units the encoder has ready, in decode order (none
// while it fills its B-frame delay).
func (e *H264Encoder) Encode(pts int64) ([]EncodedFrame, error) {
	e.frame.pts = C.int64_t(pts)
	// Force the IDR where the GOP starts, so a loop is always whole GOPs.
	e.frame.pict_type = C.AV_PICTURE_TYPE_NONE
	if pts%int64(e.gopFrames) == 0 {
		e.frame.pict_type = C.AV_PICTURE_TYPE_I
	}
	if res := C.avcodec_send_frame(e.ctx, e.frame); res < 0 {
		return nil, avError("avcodec_send_frame", res)
	}
	return e.receive()
}

// Flush drains the frames the encoder still holds.
func (e *H264Encoder) Flush() ([]EncodedFrame, error) {
	if res := C.avcodec_send_frame(e.ctx, nil); res < 0 {
		return nil, avError("avcodec_send_frame(flush)", res)
	}
	return e.receive()
}

func (e *H264Encoder) receive() ([]EncodedFrame, error) {
	var out []EncodedFrame
	for {
		res := C.avcodec_receive_packet(e.ctx, e.pkt)
		if res == -C.EAGAIN || res == C.AVERROR_EOF {
			return out, nil
		}
		if res < 0 {
			return nil, avError("avcodec_receive_packet", res)
		}
		data := C.GoBytes(unsafe.Pointer(e.pkt.data), e.pkt.size)
		pts := int64(e.pkt.pts)
		C.av_packet_unref(e.pkt)

		var au h264.AnnexB
		if err := au.Unmarshal(data); err != nil {
			return nil, fmt.Errorf("split access unit: %w", err)
		}
		out = append(out, EncodedFrame{AU: au, PTS: pts, IDR: h264.IsRandomAccess(au)})
	}
}

// Close frees the encoder.
func (e *H264Encoder) Close() {
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
