package detect

import (
	"encoding/binary"
	"image"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A tiny ONNX model, written by hand in protobuf: input x [1,3,8,8] →
// GlobalAveragePool → Flatten → Gemm with zero weights and the bias holding
// two SSD detections → Reshape [1,1,2,7]. Whatever the picture, it
// "detects" a person (class 1, score 0.9) and a car (class 3, score 0.2):
// enough to test loading and reading boxes without shipping a model.

type pb []byte

func (b pb) varint(v uint64) pb {
	return binary.AppendUvarint(b, v)
}
func (b pb) tag(field, wire int) pb    { return b.varint(uint64(field<<3 | wire)) }
func (b pb) int(field int, v int64) pb { return b.tag(field, 0).varint(uint64(v)) }
func (b pb) bytes(field int, v []byte) pb {
	return append(b.tag(field, 2).varint(uint64(len(v))), v...)
}
func (b pb) str(field int, s string) pb { return b.bytes(field, []byte(s)) }

func tensorF(name string, dims []int64, vals []float32) pb {
	var t pb
	for _, d := range dims {
		t = t.int(1, d)
	}
	t = t.int(2, 1) // FLOAT
	t = t.str(8, name)
	raw := make([]byte, 4*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(v))
	}
	return t.bytes(9, raw)
}

func tensorI64(name string, vals []int64) pb {
	t := pb{}.int(1, int64(len(vals))).int(2, 7).str(8, name) // INT64
	raw := make([]byte, 8*len(vals))
	for i, v := range vals {
		binary.LittleEndian.PutUint64(raw[8*i:], uint64(v))
	}
	return t.bytes(9, raw)
}

func valueInfo(name string, dims []int64) pb {
	var shape pb
	for _, d := range dims {
		shape = shape.bytes(1, pb{}.int(1, d))
	}
	tensor := pb{}.int(1, 1).bytes(2, shape)
	return pb{}.str(1, name).bytes(2, pb{}.bytes(1, tensor))
}

func node(op string, in []string, out string, attrs ...pb) pb {
	var n pb
	for _, i := range in {
		n = n.str(1, i)
	}
	n = n.str(2, out).str(3, out).str(4, op)
	for _, a := range attrs {
		n = n.bytes(5, a)
	}
	return n
}

func tinySSD(t *testing.T) string {
	t.Helper()
	dets := []float32{0, 1, 0.9, 0.25, 0.10, 0.50, 0.90, 0, 3, 0.2, 0.6, 0.6, 0.9, 0.9}
	var g pb
	g = g.bytes(1, node("GlobalAveragePool", []string{"x"}, "pool"))
	g = g.bytes(1, node("Flatten", []string{"pool"}, "flat", pb{}.str(1, "axis").int(3, 1).int(20, 2)))
	g = g.bytes(1, node("Gemm", []string{"flat", "w", "b"}, "gemm", pb{}.str(1, "transB").int(3, 1).int(20, 2)))
	g = g.bytes(1, node("Reshape", []string{"gemm", "shape"}, "detections"))
	g = g.str(2, "tiny-ssd")
	g = g.bytes(5, tensorF("w", []int64{14, 3}, make([]float32, 42)))
	g = g.bytes(5, tensorF("b", []int64{14}, dets))
	g = g.bytes(5, tensorI64("shape", []int64{1, 1, 2, 7}))
	g = g.bytes(11, valueInfo("x", []int64{1, 3, 8, 8}))
	g = g.bytes(12, valueInfo("detections", []int64{1, 1, 2, 7}))
	m := pb{}.int(1, 7).str(2, "qianliyan-test").bytes(7, g).bytes(8, pb{}.str(1, "").int(2, 11))
	path := filepath.Join(t.TempDir(), "tiny.onnx")
	if err := os.WriteFile(path, m, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestObjectDetectorLoadsAModelAndReadsItsBoxes(t *testing.T) {
	d, err := LoadObjectDetector(tinySSD(t), "", 8)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	img := frameWithPerson(t, image.Pt(-1, -1), 0)
	got, err := d.Detect(img, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	want := Object{Class: 1, Box: image.Rect(320, 72, 640, 648), Score: 0.9}
	if len(got) != 1 || got[0].Class != want.Class || got[0].Box != want.Box || math.Abs(got[0].Score-want.Score) > 1e-6 {
		t.Fatalf("objects %+v, want only %+v (the car scores 0.2)", got, want)
	}
	if all, _ := d.Detect(img, 0.1); len(all) != 2 {
		t.Errorf("with a low threshold: %+v, want the person and the car", all)
	}
}

func TestObjectDetectorRefusesWhatItCannotLoad(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.onnx")
	_ = os.WriteFile(junk, []byte("not a model"), 0o644)
	for _, c := range []struct{ path, config, want string }{
		{filepath.Join(dir, "none.onnx"), "", "no such file"},
		{junk, "", "OpenCV could not load it"},
		{filepath.Join(dir, "m.pb"), "", ""},
	} {
		if c.path == filepath.Join(dir, "m.pb") {
			_ = os.WriteFile(c.path, []byte("x"), 0o644)
			c.want = "want an .onnx file"
		}
		d, err := LoadObjectDetector(c.path, c.config, 300)
		if err == nil {
			d.Close()
			t.Errorf("%s loaded", c.path)
		} else if !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want it to say %q", c.path, err, c.want)
		}
	}
}

func TestParseYOLOOutput(t *testing.T) {
	// two rows of (cx, cy, w, h, objectness, 3 class scores), input 320
	data := []float32{160, 160, 64, 128, 0.9, 0.1, 0.8, 0.1, 10, 10, 4, 4, 0.3, 0.9, 0.1, 0}
	got, err := parseDetections([]int{1, 2, 8}, data, 640, 640, 320, 0.5)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Class != 1 || got[0].Box != image.Rect(256, 192, 384, 448) {
		t.Errorf("YOLO boxes %+v, want class 1 at (256,192)-(384,448)", got)
	}
	if _, err := parseDetections([]int{1, 5}, make([]float32, 4), 1, 1, 1, 0); err == nil {
		t.Error("a mis-sized output was read")
	}
}
