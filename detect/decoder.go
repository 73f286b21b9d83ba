// Package detect turns camera video into incidents: it decodes sampled
// pictures, runs the analyzers and reports what needs someone.
package detect

import (
	"fmt"

	"qianliyan/ingest"
	"qianliyan/internal/av"
)

// NewDecoder opens an FFmpeg decoder (internal/av) for a stream's video
// codec, using threads threads (0: FFmpeg picks). One thread keeps the
// per-core cost easy to measure.
func NewDecoder(codec ingest.Codec, threads int) (*av.Decoder, error) {
	switch codec {
	case ingest.H264:
		return av.NewDecoder(av.H264, threads)
	case ingest.H265:
		return av.NewDecoder(av.H265, threads)
	}
	return nil, fmt.Errorf("decoder: unsupported codec %q", codec)
}
