package main

import (
	"context"
	"fmt"
	"image"

	"qianliyan/internal/av"
)

// h264Encoder feeds internal/av's libx264 encoder with RGBA pictures: it
// converts what changed since the last one to YUV and adds sensor noise,
// straight into the encoder's picture.
type h264Encoder struct {
	enc   *av.H264Encoder
	pic   *yuvPicture
	noise *sensorNoise
}

// newH264Encoder opens the encoder; noiseSeed picks the sensor noise.
func newH264Encoder(cfg av.EncoderConfig, noiseSeed uint64) (*h264Encoder, error) {
	enc, err := av.NewH264Encoder(cfg)
	if err != nil {
		return nil, err
	}
	return &h264Encoder{enc: enc, pic: newYUVPicture(cfg.Width, cfg.Height), noise: newSensorNoise(noiseSeed, cfg.Width)}, nil
}

// encode sends the picture of frame pts (in frames) and returns the access
// units the encoder has ready, in decode order (none while it fills its B-frame
// delay).
func (e *h264Encoder) encode(img *image.RGBA, pts int64) ([]av.EncodedFrame, error) {
	w, h := e.pic.w, e.pic.h
	if img.Rect.Dx() != w || img.Rect.Dy() != h {
		return nil, fmt.Errorf("picture is %v, encoder wants %dx%d", img.Rect.Size(), w, h)
	}
	dst, err := e.enc.Picture()
	if err != nil {
		return nil, err
	}
	e.pic.update(img)
	for row := range h {
		e.noise.addRow(dst.Y[row*dst.YStride:row*dst.YStride+w], e.pic.y[row*w:(row+1)*w], int(pts), row)
	}
	for row := range h / 2 {
		copy(dst.Cb[row*dst.CStride:row*dst.CStride+w/2], e.pic.u[row*w/2:])
		copy(dst.Cr[row*dst.CStride:row*dst.CStride+w/2], e.pic.v[row*w/2:])
	}
	return e.enc.Encode(pts)
}

// flush drains the frames the encoder still holds.
func (e *h264Encoder) flush() ([]av.EncodedFrame, error) { return e.enc.Flush() }

func (e *h264Encoder) close() { e.enc.Close() }

// encodeSubClips renders the plain scenes again at the sub-stream's size
// and encodes them once at its bitrate, with the main loop's length and
// GOP, so a camera's sub-stream loops in step with its main stream.
func encodeSubClips(ctx context.Context, cfg config) ([]*clip, error) {
	scenes := make([]*Scene, 0, cfg.Variants)
	for v := range cfg.Variants {
		scenes = append(scenes, NewScene(v, cfg.SubWidth, cfg.SubHeight, cfg.FPS, cfg.loopN))
	}
	return encodeClips(ctx, clipConfig{EncoderConfig: av.EncoderConfig{
		Width:     cfg.SubWidth,
		Height:    cfg.SubHeight,
		FPS:       cfg.FPS,
		GOPFrames: cfg.gopFrames,
		BFrames:   cfg.BFrames,
		Bitrate:   cfg.SubBitrate,
	}}, scenes)
}
