// Package av is the one owner of cgo into FFmpeg: a video decoder to
// image.YCbCr (detection, thumbnails), a libx264 encoder and a native AAC
// encoder (the simulated cameras), and an AAC-to-Opus transcoder (the
// relay). Every other package calls it instead of FFmpeg, so there is one
// place for FFmpeg's memory rules, its error codes and its version quirks.
// It holds no config and no app state.
//
// Binaries link only the FFmpeg libraries they call (the Makefile's
// --as-needed and --gc-sections), but the linker drops cgo's stubs a whole
// file at a time, and cgo puts the stub of a C function in the first file
// (by name) that calls it. So encoder.go calls no C function that
// decoder.go (which needs libswscale) calls too, but a helper in its own
// preamble (h264Frame), or camsim would load libswscale for nothing.
// Check with readelf -d bin/camsim | grep NEEDED.
package av

// #cgo pkg-config: libavcodec libavutil libswscale libswresample
// #include <libavutil/error.h>
import "C"

import "fmt"

// avError is every FFmpeg failure this package returns: what was being
// done, then FFmpeg's own words for code (av_strerror).
func avError(what string, code C.int) error {
	var buf [C.AV_ERROR_MAX_STRING_SIZE]C.char
	C.av_strerror(code, &buf[0], C.size_t(len(buf)))
	return fmt.Errorf("%s: %s", what, C.GoString(&buf[0]))
}
