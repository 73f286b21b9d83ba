package record

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"

	"github.com/bluenviron/mediacommon/v2/pkg/formats/fmp4"
)

// boxes splits a file's top-level MP4 boxes: the init block (everything
// before the first moof) and the fragments, up to the last whole mdat. A
// box cut short at the end (a segment still being written, or one a crash
// left) and what follows it are left out.
func boxes(b []byte) (init, frags []byte) {
	off, firstMoof, lastMdat := 0, -1, -1
	for off+8 <= len(b) {
		size := int(binary.BigEndian.Uint32(b[off:]))
		typ := string(b[off+4 : off+8])
		if size == 1 && off+16 <= len(b) {
			size = int(binary.BigEndian.Uint64(b[off+8:]))
		}
		if size < 8 || off+size > len(b) {
			break
		}
		if typ == "moof" && firstMoof < 0 {
			firstMoof = off
		}
		off += size
		if typ == "mdat" {
			lastMdat = off
		}
	}
	if firstMoof < 0 {
		return b[:off], nil
	}
	if lastMdat < firstMoof {
		return b[:firstMoof], nil
	}
	return b[:firstMoof], b[firstMoof:lastMdat]
}

// sample is a sample of a segment with its decoding time from the start
// of the segment (timeScale).
type sample struct {
	dts uint64
	*fmp4.Sample
}

// segmentFile is what a segment file holds: its track and its samples.
type segmentFile struct {
	init    fmp4.Init
	samples []sample
	end     uint64 // DTS after the last sample
}

// readSegment reads the file at path, or what is whole of it.
func readSegment(path string) (*segmentFile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	ib, fb := boxes(b)
	sf := &segmentFile{}
	if err := sf.init.Unmarshal(bytes.NewReader(ib)); err != nil {
		return nil, fmt.Errorf("%s: init block: %w", path, err)
	}
	if len(sf.init.Tracks) != 1 {
		return nil, fmt.Errorf("%s: %d tracks, want 1", path, len(sf.init.Tracks))
	}
	if len(fb) == 0 {
		return sf, nil
	}
	var parts fmp4.Parts
	if err := parts.Unmarshal(fb); err != nil {
		return nil, fmt.Errorf("%s: fragments: %w", path, err)
	}
	for _, p := range parts {
		for _, t := range p.Tracks {
			dts := t.BaseTime
			for _, s := range t.Samples {
				sf.samples = append(sf.samples, sample{dts: dts, Sample: s})
				dts += uint64(s.Duration)
			}
			sf.end = max(sf.end, dts)
		}
	}
	return sf, nil
}
