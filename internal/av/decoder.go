package av

// #include <libavcodec/avcodec.h>
// #include <libavutil/imgutils.h>
// #include <libswscale/swscale.h>
// #include <string.h>
//
// static int qly_send(AVCodecContext *c, AVPacket *p, uint8_t *data, int size) {
//     p->data = data;
//     p->size = size;
//     return avcodec_send_packet(c, p);
// }
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"
)

// Codec is a video codec the Decoder reads.
type Codec int

// The video codecs of cameras.
const (
	H264 Codec = iota + 1
	H265
)

// String names the codec as cameras' SDP does.
func (c Codec) String() string {
	switch c {
	case H264:
		return "H264"
	case H265:
		return "H265"
	}
	return fmt.Sprintf("Codec(%d)", int(c))
}

// Decoder turns access units of one camera into pictures with FFmpeg's
// libavcodec. It is not safe for concurrent use.
type Decoder struct {
	ctx   *C.AVCodecContext
	frame *C.AVFrame
	yuv   *C.AVFrame // for pixel formats other than 4:2:0
	sws   *C.struct_SwsContext
	pkt   *C.AVPacket
	buf   unsafe.Pointer // Annex-B assembly buffer, C memory
	cap   int
}

// NewDecoder opens a decoder for codec using threads threads (0: FFmpeg
// picks). One thread keeps the per-core cost easy to measure.
func NewDecoder(codec Codec, threads int) (*Decoder, error) {
	id := uint32(C.AV_CODEC_ID_H264)
	switch codec {
	case H264:
	case H265:
		id = C.AV_CODEC_ID_HEVC
	default:
		return nil, fmt.Errorf("decoder: unsupported codec %v", codec)
	}
	c := C.avcodec_find_decoder(id)
	if c == nil {
		return nil, fmt.Errorf("decoder: FFmpeg has no %s decoder", codec)
	}
	d := &Decoder{}
	d.ctx = C.avcodec_alloc_context3(c)
	if d.ctx == nil {
		return nil, errors.New("decoder: out of memory")
	}
	d.ctx.thread_count = C.int(threads)
	if res := C.avcodec_open2(d.ctx, c, nil); res < 0 {
		C.avcodec_free_context(&d.ctx)
		return nil, avError("decoder: open "+codec.String(), res)
	}
	d.frame = C.av_frame_alloc()
	d.pkt = C.av_packet_alloc()
	if d.frame == nil || d.pkt == nil {
		d.Close()
		return nil, errors.New("decoder: out of memory")
	}
	return d, nil
}

// Close frees the decoder.
func (d *Decoder) Close() {
	if d.pkt != nil {
		C.av_packet_free(&d.pkt)
	}
	if d.frame != nil {
		C.av_frame_free(&d.frame)
	}
	if d.yuv != nil {
		C.av_frame_free(&d.yuv)
	}
	if d.sws != nil {
		C.sws_freeContext(d.sws)
		d.sws = nil
	}
	if d.ctx != nil {
		C.avcodec_free_context(&d.ctx)
	}
	if d.buf != nil {
		C.av_free(d.buf)
		d.buf = nil
	}
}

var startCode = []byte{0, 0, 0, 1}

// Decode feeds one access unit and returns the picture it completes, or
// nil when the decoder needs more input first. The picture is a copy the
// caller may keep.
func (d *Decoder) Decode(nalus [][]byte) (*image.YCbCr, error) {
	if err := d.send(nalus); err != nil {
		return nil, err
	}
	res := C.avcodec_receive_frame(d.ctx, d.frame)
	if res == -C.EAGAIN || res == C.AVERROR_EOF {
		return nil, nil
	}
	if res < 0 {
		return nil, avError("decoder: receive frame", res)
	}
	defer C.av_frame_unref(d.frame)
	return d.picture()
}

func (d *Decoder) send(nalus [][]byte) error {
	size := 0
	for _, n := range nalus {
		size += len(startCode) + len(n)
	}
	if size == 0 {
		return errors.New("decoder: empty access unit")
	}
	if need := size + C.AV_INPUT_BUFFER_PADDING_SIZE; need > d.cap {
		if d.buf != nil {
			C.av_free(d.buf)
		}
		d.cap = need * 3 / 2
		d.buf = C.av_malloc(C.size_t(d.cap))
		if d.buf == nil {
			d.cap = 0
			return errors.New("decoder: out of memory")
		}
	}
	dst := unsafe.Slice((*byte)(d.buf), d.cap)
	pos := 0
	for _, n := range nalus {
		pos += copy(dst[pos:], startCode)
		pos += copy(dst[pos:], n)
	}
	clear(dst[pos : pos+C.AV_INPUT_BUFFER_PADDING_SIZE])
	res := C.qly_send(d.ctx, d.pkt, (*C.uint8_t)(d.buf), C.int(size))
	if res < 0 && res != -C.EAGAIN {
		return avError("decoder: send packet", res)
	}
	return nil
}

// picture copies the decoded frame into Go memory as 4:2:0.
func (d *Decoder) picture() (*image.YCbCr, error) {
	f := d.frame
	w, h := int(f.width), int(f.height)
	if w <= 0 || h <= 0 {
		return nil, errors.New("decoder: frame without size")
	}
	if f.format != C.AV_PIX_FMT_YUV420P && f.format != C.AV_PIX_FMT_YUVJ420P {
		var err error
		if f, err = d.to420(); err != nil {
			return nil, err
		}
	}
	img := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
	copyPlane(img.Y, img.YStride, f.data[0], int(f.linesize[0]), w, h)
	cw, ch := (w+1)/2, (h+1)/2
	copyPlane(img.Cb, img.CStride, f.data[1], int(f.linesize[1]), cw, ch)
	copyPlane(img.Cr, img.CStride, f.data[2], int(f.linesize[2]), cw, ch)
	return img, nil
}

func (d *Decoder) to420() (*C.AVFrame, error) {
	f := d.frame
	if d.yuv == nil || d.yuv.width != f.width || d.yuv.height != f.height {
		if d.yuv != nil {
			C.av_frame_free(&d.yuv)
		}
		d.yuv = C.av_frame_alloc()
		d.yuv.format = C.AV_PIX_FMT_YUV420P
		d.yuv.width, d.yuv.height = f.width, f.height
		if res := C.av_frame_get_buffer(d.yuv, 0); res < 0 {
			C.av_frame_free(&d.yuv)
			return nil, avError("decoder: frame buffer", res)
		}
	}
	d.sws = C.sws_getCachedContext(d.sws, f.width, f.height, int32(f.format),
		f.width, f.height, C.AV_PIX_FMT_YUV420P, C.SWS_BILINEAR, nil, nil, nil)
	if d.sws == nil {
		return nil, fmt.Errorf("decoder: cannot convert pixel format %d", f.format)
	}
	C.sws_scale(d.sws, (**C.uint8_t)(unsafe.Pointer(&f.data[0])), (*C.int)(unsafe.Pointer(&f.linesize[0])),
		0, f.height, (**C.uint8_t)(unsafe.Pointer(&d.yuv.data[0])), (*C.int)(unsafe.Pointer(&d.yuv.linesize[0])))
	return d.yuv, nil
}

func copyPlane(dst []byte, dstStride int, src *C.uint8_t, srcStride, w, h int) {
	s := unsafe.Slice((*byte)(unsafe.Pointer(src)), srcStride*(h-1)+w)
	for y := range h {
		copy(dst[y*dstStride:y*dstStride+w], s[y*srcStride:y*srcStride+w])
	}
}
