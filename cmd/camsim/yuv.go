package main

import (
	"bytes"
	"encoding/binary"
	"image"
	"math/rand/v2"
)

// yuvPicture keeps the YUV 4:2:0 (BT.601, limited range) conversion of the last
// RGBA picture it was given, and converts again only the parts of the next
// picture that changed. A scene is mostly a still background, so this costs a
// fraction of a full conversion per frame.
type yuvPicture struct {
	w, h    int
	y, u, v []byte // planes without padding: strides w, w/2, w/2
	last    []byte // RGBA pixels last converted
}

func newYUVPicture(w, h int) *yuvPicture {
	return &yuvPicture{
		w:    w,
		h:    h,
		y:    make([]byte, w*h),
		u:    make([]byte, w*h/4),
		v:    make([]byte, w*h/4),
		last: make([]byte, 4*w*h),
	}
}

// update converts the pixels of img that differ from the previous call's,
// two rows at a time (4:2:0 chroma spans a 2×2 block).
func (p *yuvPicture) update(img *image.RGBA) {
	const chunk = 64 // bytes compared at a time: 16 pixels
	rowBytes := 4 * p.w
	for y := 0; y < p.h; y += 2 {
		a := img.Pix[y*img.Stride : y*img.Stride+rowBytes]
		b := img.Pix[(y+1)*img.Stride : (y+1)*img.Stride+rowBytes]
		la := p.last[y*rowBytes : (y+1)*rowBytes]
		lb := p.last[(y+1)*rowBytes : (y+2)*rowBytes]

		lo := 0
		for lo < rowBytes {
			hi := min(lo+chunk, rowBytes)
			if !bytes.Equal(a[lo:hi], la[lo:hi]) || !bytes.Equal(b[lo:hi], lb[lo:hi]) {
				break
			}
			lo = hi
		}
		if lo == rowBytes {
			continue
		}
		hi := rowBytes
		for hi > lo {
			l := max(hi-chunk, lo)
			if !bytes.Equal(a[l:hi], la[l:hi]) || !bytes.Equal(b[l:hi], lb[l:hi]) {
				break
			}
			hi = l
		}
		// chunk is a multiple of 8 bytes, so lo and hi fall on even pixels.
		p.convert(a, b, y, lo/4, hi/4)
		copy(la[lo:hi], a[lo:hi])
		copy(lb[lo:hi], b[lo:hi])
	}
}

// convert converts pixels [x0, x1) of rows y and y+1 (a and b).
func (p *yuvPicture) convert(a, b []byte, y, x0, x1 int) {
	ya := p.y[y*p.w:]
	yb := p.y[(y+1)*p.w:]
	cu := p.u[y/2*(p.w/2):]
	cv := p.v[y/2*(p.w/2):]
	for x := x0; x < x1; x += 2 {
		i := 4 * x
		r0, g0, b0 := int32(a[i]), int32(a[i+1]), int32(a[i+2])
		r1, g1, b1 := int32(a[i+4]), int32(a[i+5]), int32(a[i+6])
		r2, g2, b2 := int32(b[i]), int32(b[i+1]), int32(b[i+2])
		r3, g3, b3 := int32(b[i+4]), int32(b[i+5]), int32(b[i+6])
		ya[x] = luma(r0, g0, b0)
		ya[x+1] = luma(r1, g1, b1)
		yb[x] = luma(r2, g2, b2)
		yb[x+1] = luma(r3, g3, b3)
		r := (r0 + r1 + r2 + r3 + 2) >> 2
		g := (g0 + g1 + g2 + g3 + 2) >> 2
		bl := (b0 + b1 + b2 + b3 + 2) >> 2
		cu[x/2] = uint8(((-38*r - 74*g + 112*bl + 128) >> 8) + 128)
		cv[x/2] = uint8(((112*r - 94*g - 18*bl + 128) >> 8) + 128)
	}
}

// luma is BT.601 limited range: 16 … 235.
func luma(r, g, b int32) uint8 {
	return uint8(((66*r + 129*g + 25*b + 128) >> 8) + 16)
}

// noiseAmp is the amplitude of the luma noise added to every frame, as a
// camera sensor would. A clean synthetic picture costs x264 almost nothing, so
// without it the encoder could not reach a real camera's bitrate; with it the
// rate control lands near the target, at a picture quality like a real one.
// Limited-range luma (16 … 235) leaves room for it on both sides.
const noiseAmp = 4

// sensorNoise is a table of noise values biased by +noiseAmp (so 0 … 2·noiseAmp),
// read at a pseudo-random offset for every row of every frame.
type sensorNoise struct {
	table []byte
	mask  uint32
}

func newSensorNoise(seed uint64, maxRow int) *sensorNoise {
	const size = 1 << 20
	rng := rand.New(rand.NewPCG(seed, 0x853c49e6748fea9b))
	n := &sensorNoise{table: make([]byte, size+maxRow), mask: size - 1}
	for i := range n.table {
		// The sum of two uniform values looks more like sensor noise than one.
		n.table[i] = byte(rng.IntN(noiseAmp+1) + rng.IntN(noiseAmp+1))
	}
	return n
}

// addRow writes src plus noise into dst (same length); frame and row pick the
// noise. Eight pixels at a time: every byte of clean+bias−bias stays within
// 0 … 255, so no carry crosses from one byte into the next.
func (n *sensorNoise) addRow(dst, src []byte, frame, row int) {
	const bias = noiseAmp * 0x0101010101010101
	h := uint32(frame)*2654435761 ^ uint32(row)*2246822519
	h ^= h >> 15
	h *= 2654435761
	noise := n.table[h&n.mask:]
	i := 0
	for ; i+8 <= len(src); i += 8 {
		v := binary.LittleEndian.Uint64(src[i:]) + binary.LittleEndian.Uint64(noise[i:]) - bias
		binary.LittleEndian.PutUint64(dst[i:], v)
	}
	for ; i < len(src); i++ {
		dst[i] = src[i] + noise[i] - noiseAmp
	}
}
