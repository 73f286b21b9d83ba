package record

import (
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4/seekablebuffer"
	"github.com/bluenviron/mediacommon/v2/pkg/formats/mp4"

	"qianliyan/ingest"
)

// timeScale is the clock of every track we write: the RTP video clock, so
// the camera's timestamps go in without rounding.
const timeScale = 90000

// fragmentEvery is how much video a fragment holds at most before it is
// written: what a crash can lose, and how far behind the live picture a
// clip's end may be read from disk.
const fragmentEvery = time.Second

// Segment is one closed piece of a camera's recording: a standalone
// fragmented MP4 file that starts at a key frame.
type Segment struct {
	Camera  string `json:"camera"`
	Name    string `json:"name"` // the file's name in data_dir/rec/{camera}/
	StartMS int64  `json:"start_ms"`
	EndMS   int64  `json:"end_ms"`
	Bytes   int64  `json:"bytes"`
}

// segmentName is the file name of a closed segment: its wall-clock start
// and end in ms, so the index can be rebuilt from names alone.
func segmentName(startMS, endMS int64) string { return fmt.Sprintf("%d-%d.mp4", startMS, endMS) }

// partName is the name of the segment being written.
func partName(startMS int64) string { return fmt.Sprintf("%d.part", startMS) }

// dtsExtractor gives an access unit's decoding time from its presentation
// time (90 kHz), for cameras that send B-frames (out of order).
type dtsExtractor interface {
	Extract(au [][]byte, pts int64) (int64, error)
}

// segWriter writes one segment: the init block at once, then a fragment
// (moof + mdat) every fragmentEvery or at each key frame, whichever comes
// first. A unit waits in last until the next one gives its duration.
// Times are decoding times (DTS) from the first unit's, at timeScale.
type segWriter struct {
	f        *os.File
	path     string
	startMS  int64 // wall clock of the first unit
	epoch    uint32
	dtsx     dtsExtractor
	firstDTS int64  // DTS of the first unit (timeScale)
	params   string // the parameter sets it was opened with

	seq      uint32
	samples  []*fmp4.Sample
	partBase uint64 // DTS (timeScale) of samples[0]
	nextDTS  uint64 // DTS of last
	last     *ingest.Unit
	lastOff  int32  // last's PTS less its DTS (B-frames)
	lastDur  uint32 // duration of the previous sample, for the very last one
	flushed  uint64 // DTS up to which fragments are on disk
	bytes    int64  // written to the file
	counted  int64  // of bytes, already added to the camera's count
	buf      seekablebuffer.Buffer
}

// paramsOf returns a key frame's parameter sets (VPS, SPS, PPS) and a
// string that changes when they do.
func paramsOf(u *ingest.Unit) (vps, sps, pps []byte, key string) {
	for _, n := range u.NALUs {
		if len(n) == 0 {
			continue
		}
		if u.Codec == ingest.H265 {
			if len(n) < 2 {
				continue
			}
			switch h265.NALUType((n[0] >> 1) & 0b111111) {
			case h265.NALUType_VPS_NUT:
				vps = n
			case h265.NALUType_SPS_NUT:
				sps = n
			case h265.NALUType_PPS_NUT:
				pps = n
			}
			continue
		}
		switch h264.NALUType(n[0] & 0x1f) {
		case h264.NALUTypeSPS:
			sps = n
		case h264.NALUTypePPS:
			pps = n
		}
	}
	return vps, sps, pps, string(u.Codec) + string(vps) + "|" + string(sps) + "|" + string(pps)
}

// startSegment starts a segment in dir with key frame u.
func startSegment(dir string, u *ingest.Unit) (*segWriter, error) {
	vps, sps, pps, key := paramsOf(u)
	var codec mp4.Codec
	switch {
	case u.Codec == ingest.H264 && sps != nil && pps != nil:
		codec = &mp4.CodecH264{SPS: sps, PPS: pps}
	case u.Codec == ingest.H265 && vps != nil && sps != nil && pps != nil:
		codec = &mp4.CodecH265{VPS: vps, SPS: sps, PPS: pps}
	default:
		return nil, fmt.Errorf("a %s key frame without its parameter sets", u.Codec)
	}
	w := &segWriter{startMS: u.Received.UnixMilli(), epoch: u.Epoch, params: key, seq: 1}
	if u.Codec == ingest.H265 {
		w.dtsx = h265.NewDTSExtractor()
	} else {
		w.dtsx = h264.NewDTSExtractor()
	}
	pts := ticks(u.PTS)
	dts, err := w.dtsx.Extract(u.NALUs, pts)
	if err != nil {
		return nil, fmt.Errorf("decoding time: %w", err)
	}
	w.firstDTS, w.lastOff = dts, int32(pts-dts)
	w.path = filepath.Join(dir, partName(w.startMS))
	f, err := os.OpenFile(w.path, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	w.f = f
	init := fmp4.Init{Tracks: []*fmp4.InitTrack{{ID: 1, TimeScale: timeScale, Codec: codec}}}
	if err := init.Marshal(&w.buf); err != nil {
		w.abort()
		return nil, fmt.Errorf("init block: %w", err)
	}
	if err := w.write(); err != nil {
		w.abort()
		return nil, err
	}
	w.last = u
	return w, nil
}

// ticks is a duration at timeScale.
func ticks(d time.Duration) int64 { return int64(d) * timeScale / int64(time.Second) }

// timing is the decoding time of u, the unit after last, in the segment,
// and its PTS less its DTS; an error when the camera's timing does not
// follow (a new segment is due).
func (w *segWriter) timing(u *ingest.Unit) (dts int64, off int32, err error) {
	pts := ticks(u.PTS)
	d, err := w.dtsx.Extract(u.NALUs, pts)
	if err != nil {
		return 0, 0, err
	}
	return d - w.firstDTS, int32(pts - d), nil
}

// durationMS is how much video the segment holds so far, the unit waiting
// included at its expected length.
func (w *segWriter) durationMS() int64 {
	return int64((w.nextDTS + uint64(w.lastDur)) * 1000 / timeScale)
}

// add appends u, the unit after last, of decoding time dts and PTS
// offset off (from timing), and writes a fragment when one is due.
func (w *segWriter) add(u *ingest.Unit, dts int64, off int32) error {
	dur := uint32(1)
	if dts > int64(w.nextDTS) {
		dur = uint32(dts - int64(w.nextDTS))
	}
	if err := w.push(dur); err != nil {
		return err
	}
	w.last, w.lastOff = u, off
	if u.Key || time.Duration(w.nextDTS-w.partBase)*time.Second/timeScale >= fragmentEvery {
		return w.flush()
	}
	return nil
}

// push turns the waiting unit into a sample of duration dur.
func (w *segWriter) push(dur uint32) error {
	if w.last == nil {
		return nil
	}
	s := &fmp4.Sample{Duration: dur}
	var err error
	if w.last.Codec == ingest.H265 {
		err = s.FillH265(w.lastOff, w.last.NALUs)
	} else {
		err = s.FillH264(w.lastOff, w.last.NALUs)
	}
	if err != nil {
		return fmt.Errorf("sample: %w", err)
	}
	if len(w.samples) == 0 {
		w.partBase = w.nextDTS
	}
	w.samples = append(w.samples, s)
	w.nextDTS += uint64(dur)
	w.lastDur = dur
	w.last = nil
	return nil
}

// flush writes the samples gathered as one fragment.
func (w *segWriter) flush() error {
	if len(w.samples) == 0 {
		return nil
	}
	p := fmp4.Part{SequenceNumber: w.seq, Tracks: []*fmp4.PartTrack{{ID: 1, BaseTime: w.partBase, Samples: w.samples}}}
	if err := p.Marshal(&w.buf); err != nil {
		return fmt.Errorf("fragment: %w", err)
	}
	w.seq++
	clear(w.samples)
	w.samples = w.samples[:0]
	if err := w.write(); err != nil {
		return err
	}
	w.flushed = w.nextDTS
	return nil
}

// write appends the buffer to the file in one call, so a reader of the
// file sees whole boxes or none of the last one.
func (w *segWriter) write() error {
	b := w.buf.Bytes()
	n, err := w.f.Write(b)
	w.bytes += int64(n)
	w.buf.Reset()
	return err
}

// flushedMS is the wall clock up to which the segment is on disk.
func (w *segWriter) flushedMS() int64 { return w.startMS + int64(w.flushed*1000/timeScale) }

// close writes what waits (the last unit gets dur, or the length of the
// one before) and renames the file to its final name; it returns the
// segment, or ok false when it held nothing and was removed.
func (w *segWriter) close(camera string, dur uint32) (Segment, bool, error) {
	if dur == 0 {
		dur = max(w.lastDur, timeScale/25)
	}
	err := w.push(dur)
	if err == nil {
		err = w.flush()
	}
	if cerr := w.f.Close(); err == nil {
		err = cerr
	}
	if err != nil || w.nextDTS == 0 {
		_ = os.Remove(w.path)
		return Segment{}, false, err
	}
	seg := Segment{Camera: camera, StartMS: w.startMS, EndMS: w.startMS + int64(w.nextDTS*1000/timeScale), Bytes: w.bytes}
	seg.Name = segmentName(seg.StartMS, seg.EndMS)
	if err := os.Rename(w.path, filepath.Join(filepath.Dir(w.path), seg.Name)); err != nil {
		return Segment{}, false, err
	}
	return seg, true, nil
}

// abort closes and removes the file.
func (w *segWriter) abort() {
	_ = w.f.Close()
	_ = os.Remove(w.path)
}
