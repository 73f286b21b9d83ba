package ingest

import (
	"bytes"

	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h264"
	"github.com/bluenviron/mediacommon/v2/pkg/codecs/h265"
)

// paramSets tracks a camera's parameter sets, from the SDP first and then
// from in-band NALUs, whichever comes, and puts them in front of every key
// frame that lacks them so any reader can start decoding there.
type paramSets struct {
	codec         Codec
	vps, sps, pps []byte
	width, height int
}

func newParamSets(codec Codec, vps, sps, pps []byte) *paramSets {
	p := &paramSets{codec: codec}
	p.set(0, vps)
	p.set(1, sps)
	p.set(2, pps)
	return p
}

// kind returns 0 for VPS, 1 for SPS, 2 for PPS and -1 for anything else.
func (p *paramSets) kind(nalu []byte) int {
	if len(nalu) == 0 {
		return -1
	}
	if p.codec == H265 {
		if len(nalu) < 2 {
			return -1
		}
		switch h265.NALUType((nalu[0] >> 1) & 0b111111) {
		case h265.NALUType_VPS_NUT:
			return 0
		case h265.NALUType_SPS_NUT:
			return 1
		case h265.NALUType_PPS_NUT:
			return 2
		}
		return -1
	}
	switch h264.NALUType(nalu[0] & 0x1f) {
	case h264.NALUTypeSPS:
		return 1
	case h264.NALUTypePPS:
		return 2
	}
	return -1
}

func (p *paramSets) set(kind int, nalu []byte) {
	if len(nalu) == 0 {
		return
	}
	switch kind {
	case 0:
		if !bytes.Equal(p.vps, nalu) {
			p.vps = bytes.Clone(nalu)
		}
	case 1:
		if bytes.Equal(p.sps, nalu) {
			return
		}
		p.sps = bytes.Clone(nalu)
		p.width, p.height = 0, 0
		if p.codec == H265 {
			var s h265.SPS
			if s.Unmarshal(nalu) == nil {
				p.width, p.height = s.Width(), s.Height()
			}
		} else {
			var s h264.SPS
			if s.Unmarshal(nalu) == nil {
				p.width, p.height = s.Width(), s.Height()
			}
		}
	case 2:
		if !bytes.Equal(p.pps, nalu) {
			p.pps = bytes.Clone(nalu)
		}
	}
}

// isKey reports whether the access unit is a random access point.
func (p *paramSets) isKey(au [][]byte) bool {
	if p.codec == H265 {
		return h265.IsRandomAccess(au)
	}
	return h264.IsRandomAccess(au)
}

// process records in-band parameter sets and, for a key frame, returns the
// access unit with the missing ones in front.
func (p *paramSets) process(au [][]byte, key bool) [][]byte {
	var have [3]bool
	for _, n := range au {
		if k := p.kind(n); k >= 0 {
			p.set(k, n)
			have[k] = true
		}
	}
	if !key {
		return au
	}
	var front [][]byte
	if p.codec == H265 && !have[0] && p.vps != nil {
		front = append(front, p.vps)
	}
	if !have[1] && p.sps != nil {
		front = append(front, p.sps)
	}
	if !have[2] && p.pps != nil {
		front = append(front, p.pps)
	}
	if front == nil {
		return au
	}
	return append(front, au...)
}

// ready reports whether the sets needed to decode are known.
func (p *paramSets) ready() bool {
	if p.codec == H265 && p.vps == nil {
		return false
	}
	return p.sps != nil && p.pps != nil
}
