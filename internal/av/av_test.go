package av_test

import (
	"bytes"
	"fmt"
	"image"
	"math"
	"os/exec"
	"strings"
	"testing"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"

	"qianliyan/internal/av"
)

// ffmpegFrames has the ffmpeg program render n frames of its testsrc2
// pattern at w x h, and returns them raw in 4:2:0 and encoded by encoder
// (libx264 or libx265) in pixFmt, one access unit (NAL units without start
// codes) per frame, in presentation order (no B-frames).
func ffmpegFrames(t *testing.T, encoder, pixFmt string, w, h, n int) (raw []*image.YCbCr, aus [][][]byte) {
	t.Helper()
	src := fmt.Sprintf("testsrc2=size=%dx%d:rate=25", w, h)
	out, err := exec.Command("ffmpeg", "-v", "error", "-f", "lavfi", "-i", src, "-frames:v", fmt.Sprint(n),
		"-pix_fmt", "yuv420p", "-f", "rawvideo", "-").Output()
	if err != nil {
		t.Fatalf("ffmpeg raw frames: %v", err)
	}
	size := w * h * 3 / 2
	if len(out) != n*size {
		t.Fatalf("ffmpeg gave %d bytes of raw video, want %d", len(out), n*size)
	}
	for i := range n {
		f := out[i*size : (i+1)*size]
		raw = append(raw, &image.YCbCr{Y: f[:w*h], Cb: f[w*h : w*h*5/4], Cr: f[w*h*5/4:], YStride: w, CStride: w / 2,
			SubsampleRatio: image.YCbCrSubsampleRatio420, Rect: image.Rect(0, 0, w, h)})
	}

	args := []string{"-v", "error", "-f", "lavfi", "-i", src, "-frames:v", fmt.Sprint(n), "-pix_fmt", pixFmt, "-c:v", encoder}
	aud := 9 // H.264 access unit delimiter
	if encoder == "libx265" {
		args = append(args, "-x265-params", "log-level=error:aud=1:bframes=0:qp=12", "-f", "hevc", "-")
		aud = 35
	} else {
		args = append(args, "-bf", "0", "-qp", "12", "-x264-params", "aud=1", "-f", "h264", "-")
	}
	stream, err := exec.Command("ffmpeg", args...).Output()
	if err != nil {
		t.Fatalf("ffmpeg %s %s: %v", encoder, pixFmt, err)
	}
	for _, nalu := range splitAnnexB(stream) {
		typ := int(nalu[0] & 0x1f)
		if encoder == "libx265" {
			typ = int(nalu[0]>>1) & 0x3f
		}
		if typ == aud {
			aus = append(aus, nil)
			continue
		}
		if len(aus) == 0 {
			t.Fatalf("%s stream does not start with an access unit delimiter", encoder)
		}
		aus[len(aus)-1] = append(aus[len(aus)-1], nalu)
	}
	if len(aus) != n {
		t.Fatalf("%s gave %d access units, want %d", encoder, len(aus), n)
	}
	return raw, aus
}

// splitAnnexB cuts a byte stream at its start codes.
func splitAnnexB(b []byte) [][]byte {
	var nalus [][]byte
	for {
		i := bytes.Index(b, []byte{0, 0, 1})
		if i < 0 {
			return nalus
		}
		b = b[i+3:]
		end := bytes.Index(b, []byte{0, 0, 1})
		if end < 0 {
			return append(nalus, b)
		}
		nalu := bytes.TrimRight(b[:end], "\x00") // the zero of a 4-byte start code
		nalus = append(nalus, nalu)
		b = b[end:]
	}
}

// planeDiff is the mean absolute difference of two w x h planes.
func planeDiff(a []byte, as int, b []byte, bs, w, h int) float64 {
	sum := 0
	for y := range h {
		for x := range w {
			d := int(a[y*as+x]) - int(b[y*bs+x])
			sum += max(d, -d)
		}
	}
	return float64(sum) / float64(w*h)
}

// pictureDiff is the mean absolute difference of luma and of chroma.
func pictureDiff(a, b *image.YCbCr) (luma, chroma float64) {
	w, h := a.Rect.Dx(), a.Rect.Dy()
	luma = planeDiff(a.Y, a.YStride, b.Y, b.YStride, w, h)
	chroma = (planeDiff(a.Cb, a.CStride, b.Cb, b.CStride, w/2, h/2) + planeDiff(a.Cr, a.CStride, b.Cr, b.CStride, w/2, h/2)) / 2
	return luma, chroma
}

func TestDecoderGivesTheEncodedPicturesIn420(t *testing.T) {
	const w, h, n = 160, 120, 5
	for _, tc := range []struct {
		codec   av.Codec
		encoder string
		pixFmt  string
	}{
		{av.H264, "libx264", "yuv420p"},
		{av.H264, "libx264", "yuvj422p"}, // what many IP cameras send
		{av.H264, "libx264", "yuv444p"},
		{av.H265, "libx265", "yuv420p"},
		{av.H265, "libx265", "yuv422p"},
	} {
		t.Run(tc.codec.String()+"/"+tc.pixFmt, func(t *testing.T) {
			raw, aus := ffmpegFrames(t, tc.encoder, tc.pixFmt, w, h, n)
			dec, err := av.NewDecoder(tc.codec, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			var pics []*image.YCbCr
			for i, au := range aus {
				img, err := dec.Decode(au)
				if err != nil {
					t.Fatalf("access unit %d: %v", i, err)
				}
				if img != nil {
					pics = append(pics, img)
				}
			}
			if len(pics) != n {
				t.Fatalf("%d pictures from %d access units, want one each", len(pics), n)
			}
			for i, img := range pics {
				if img.Rect != image.Rect(0, 0, w, h) || img.SubsampleRatio != image.YCbCrSubsampleRatio420 {
					t.Fatalf("picture %d is %v in %v, want %dx%d in 4:2:0", i, img.Rect, img.SubsampleRatio, w, h)
				}
				// Chroma is subsampled twice for 4:2:2 and 4:4:4 (by ffmpeg
				// for the source, by the decoder's libswscale after),
				// each its own way; a wrong plane or stride costs tens.
				luma, chroma := pictureDiff(img, raw[i])
				if luma > 3 || chroma > 5 {
					t.Errorf("picture %d differs from the source by %.2f in luma, %.2f in chroma; want at most 3 and 5", i, luma, chroma)
				}
			}
			// the picture is the caller's: the next decode must not change it
			keep := append([]byte(nil), pics[0].Y...)
			if _, err := dec.Decode(aus[0]); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(keep, pics[0].Y) {
				t.Errorf("decoding again changed an earlier picture")
			}
		})
	}
}

// pattern draws frame i: a gradient background and a bright box that moves
// four pixels a frame, in flat chroma.
func pattern(img *image.YCbCr, i int) {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	for y := range h {
		for x := range w {
			v := byte(40 + (x+y)*100/(w+h))
			if x >= 4*i%w && x < 4*i%w+32 && y >= 40 && y < 80 {
				v = 220
			}
			img.Y[y*img.YStride+x] = v
		}
	}
	for y := range h / 2 {
		for x := range w / 2 {
			img.Cb[y*img.CStride+x] = 100
			img.Cr[y*img.CStride+x] = 150
		}
	}
}

func TestH264EncoderMakesWholeGOPsThatDecodeBack(t *testing.T) {
	const w, h, frames, gop = 320, 240, 30, 10
	for _, bframes := range []int{0, 2} {
		t.Run(fmt.Sprintf("bframes=%d", bframes), func(t *testing.T) {
			enc, err := av.NewH264Encoder(av.EncoderConfig{Width: w, Height: h, FPS: 25, GOPFrames: gop, BFrames: bframes, Bitrate: 1_000_000, Threads: 1})
			if err != nil {
				t.Fatal(err)
			}
			defer enc.Close()
			var out []av.EncodedFrame
			for i := range frames {
				img, err := enc.Picture()
				if err != nil {
					t.Fatal(err)
				}
				pattern(img, i)
				got, err := enc.Encode(int64(i))
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				out = append(out, got...)
			}
			rest, err := enc.Flush()
			if err != nil {
				t.Fatal(err)
			}
			out = append(out, rest...)
			if len(out) != frames {
				t.Fatalf("%d access units for %d frames", len(out), frames)
			}
			reordered := false
			for i, f := range out {
				if f.IDR != (i%gop == 0) {
					t.Errorf("access unit %d (pts %d): IDR is %v", i, f.PTS, f.IDR)
				}
				if i > 0 && f.PTS < out[i-1].PTS {
					reordered = true
				}
				if f.IDR {
					// repeat-headers: every IDR carries its SPS
					var sps h264.SPS
					if h264.NALUType(f.AU[0][0]&0x1f) != h264.NALUTypeSPS || sps.Unmarshal(f.AU[0]) != nil {
						t.Fatalf("IDR %d does not start with an SPS", i)
					}
					if sps.ProfileIdc != 100 || sps.Width() != w || sps.Height() != h {
						t.Errorf("SPS says profile_idc %d, %dx%d; want 100 (High), %dx%d", sps.ProfileIdc, sps.Width(), sps.Height(), w, h)
					}
				}
			}
			if reordered != (bframes > 0) {
				t.Errorf("presentation order differs from decode order: %v, want %v", reordered, bframes > 0)
			}

			dec, err := av.NewDecoder(av.H264, 1)
			if err != nil {
				t.Fatal(err)
			}
			defer dec.Close()
			want := image.NewYCbCr(image.Rect(0, 0, w, h), image.YCbCrSubsampleRatio420)
			pts := 0 // the decoder gives pictures in presentation order
			for i, f := range out {
				img, err := dec.Decode(f.AU)
				if err != nil {
					t.Fatalf("decode access unit %d: %v", i, err)
				}
				if img == nil {
					continue
				}
				pattern(want, pts)
				if luma, chroma := pictureDiff(img, want); luma > 4 || chroma > 2 {
					t.Errorf("picture %d differs from what was encoded by %.2f in luma, %.2f in chroma", pts, luma, chroma)
				}
				pts++
			}
			if pts < frames-bframes {
				t.Errorf("%d pictures decoded from %d access units", pts, frames)
			}
		})
	}
}

// tone is n samples of a sine at hz, 0.3 of full scale, at rate.
func tone(hz float64, rate, n int) []float32 {
	out := make([]float32, n)
	for i := range out {
		out[i] = float32(0.3 * math.Sin(2*math.Pi*hz*float64(i)/float64(rate)))
	}
	return out
}

// aacLCMono48k is the AudioSpecificConfig of EncodeAAC's output at 48 kHz:
// object type 2 (LC), frequency index 3, one channel.
var aacLCMono48k = []byte{0x11, 0x88}

func TestAACBecomes20msOpusOfTheSameSound(t *testing.T) {
	const rate = 48000
	pcm := tone(440, rate, 94*av.AACFrame) // about 2 s
	aus, err := av.EncodeAAC(pcm, rate)
	if err != nil {
		t.Fatal(err)
	}
	if len(aus) < 94 || len(aus) > 96 {
		t.Fatalf("%d AAC access units for 94 frames and the encoder's delay", len(aus))
	}
	tc, err := av.NewOpusTranscoder(aacLCMono48k, rate, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	var packets [][]byte
	for i, au := range aus {
		if err := tc.Transcode(au, func(p []byte) { packets = append(packets, p) }); err != nil {
			t.Fatalf("access unit %d: %v", i, err)
		}
	}
	// all samples in, 960 a packet; the last partial one waits for more
	if want := len(aus) * av.AACFrame / 960; len(packets) < want-1 || len(packets) > want {
		t.Errorf("%d Opus packets from %d AAC access units, want %d", len(packets), len(aus), want)
	}
	for i, p := range packets {
		if len(p) == 0 || p[0]&3 != 0 {
			t.Fatalf("Opus packet %d (%d bytes) is not one frame", i, len(p))
		}
		if i > 0 && &p[0] == &packets[i-1][0] {
			t.Fatalf("Opus packets %d and %d share memory", i-1, i)
		}
	}
	samples, got, err := av.DecodeAudio("opus", rate, 1, packets)
	if err != nil {
		t.Fatal(err)
	}
	if got != rate || len(samples) < rate {
		t.Fatalf("decoded %d samples at %d Hz, want >= 1 s at %d Hz", len(samples), got, rate)
	}
	// skip the codecs' start; the tone's RMS is 0.3/√2 = 0.21
	rms, hz := av.ToneStats(samples[rate/5:], got)
	if math.Abs(rms-0.21) > 0.04 || math.Abs(hz-440) > 10 {
		t.Errorf("decoded sound has RMS %.3f at %.0f Hz, want 0.21 at 440 Hz", rms, hz)
	}
}

func TestFailuresSayWhatFailedInFFmpegsWords(t *testing.T) {
	dec, err := av.NewDecoder(av.H264, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dec.Close()
	tc, err := av.NewOpusTranscoder(aacLCMono48k, 48000, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer tc.Close()
	_, unknown := av.NewDecoder(av.Codec(7), 1)
	_, empty := dec.Decode(nil)
	_, noConfig := av.NewOpusTranscoder(nil, 48000, 1)
	_, badConfig := av.NewOpusTranscoder([]byte{0xff, 0xff}, 48000, 1)
	damaged := tc.Transcode([]byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, func([]byte) { t.Error("a damaged access unit gave Opus") })
	_, _, noCodec := av.DecodeAudio("no-such-codec", 8000, 1, nil)
	_, oddPCM := av.EncodeAAC(make([]float32, 1000), 48000)
	_, oddSize := av.NewH264Encoder(av.EncoderConfig{Width: 321, Height: 240, FPS: 25, GOPFrames: 25})
	for _, tc := range []struct {
		name   string
		err    error
		prefix string
		words  string // FFmpeg's own, from av_strerror ("?": any); "" when the error is ours
	}{
		{"unknown codec", unknown, "decoder: unsupported codec Codec(7)", ""},
		{"empty access unit", empty, "decoder: empty access unit", ""},
		{"AAC without config", noConfig, "AAC without its AudioSpecificConfig", ""},
		{"AAC with a bad config", badConfig, "AAC to Opus: ", "?"},
		{"damaged AAC", damaged, "decode AAC: ", "?"},
		{"no such decoder", noCodec, "open no-such-codec decoder: ", "Decoder not found"},
		{"PCM not in whole frames", oddPCM, "AAC encoder: 1000 samples", ""},
		{"odd picture size", oddSize, "encoder: 321x240", ""},
	} {
		if tc.err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		msg := tc.err.Error()
		if !strings.HasPrefix(msg, tc.prefix) {
			t.Errorf("%s: error %q, want it to start with %q", tc.name, msg, tc.prefix)
		}
		rest := strings.TrimPrefix(msg, tc.prefix)
		switch {
		case tc.words == "?" && rest == "":
			t.Errorf("%s: error %q does not say what FFmpeg said", tc.name, msg)
		case tc.words != "?" && tc.words != "" && rest != tc.words:
			t.Errorf("%s: error %q, want %q after the prefix", tc.name, msg, tc.words)
		}
	}
}
