package av

// #include <errno.h>
// #include <stdlib.h>
// #include <string.h>
// #include <libavcodec/avcodec.h>
// #include <libavutil/audio_fifo.h>
// #include <libavutil/channel_layout.h>
// #include <libavutil/error.h>
// #include <libavutil/opt.h>
// #include <libswresample/swresample.h>
//
// // An AAC decoder, a resampler to 48 kHz and a libopus encoder, with a
// // FIFO between them: AAC frames are 1024 samples, Opus ones 960.
// typedef struct {
//	AVCodecContext *dec, *enc;
//	SwrContext *swr;
//	AVAudioFifo *fifo;
//	AVFrame *in, *tmp, *out;
//	AVPacket *pkt;
//	int64_t pts;
// } transcoder;
//
// static void tcFree(transcoder *t) {
//	if (!t) return;
//	if (t->enc && t->pkt && avcodec_is_open(t->enc)) {
//		// drain what libopus holds, or it complains on closing
//		avcodec_send_frame(t->enc, NULL);
//		while (avcodec_receive_packet(t->enc, t->pkt) >= 0) av_packet_unref(t->pkt);
//	}
//	avcodec_free_context(&t->dec);
//	avcodec_free_context(&t->enc);
//	swr_free(&t->swr);
//	if (t->fifo) av_audio_fifo_free(t->fifo);
//	av_frame_free(&t->in);
//	av_frame_free(&t->tmp);
//	av_frame_free(&t->out);
//	av_packet_free(&t->pkt);
//	av_free(t);
// }
//
// #define TMP_SAMPLES 8192
//
// static int tcOpen(transcoder **pt, const uint8_t *asc, int asclen, int rate, int channels, int bitrate) {
//	int res;
//	transcoder *t = av_mallocz(sizeof(transcoder));
//	if (!t) return AVERROR(ENOMEM);
//	*pt = t;
//	const AVCodec *dc = avcodec_find_decoder(AV_CODEC_ID_AAC);
//	const AVCodec *ec = avcodec_find_encoder_by_name("libopus");
//	if (!dc || !ec) return AVERROR_ENCODER_NOT_FOUND;
//	t->dec = avcodec_alloc_context3(dc);
//	t->enc = avcodec_alloc_context3(ec);
//	t->in = av_frame_alloc();
//	t->tmp = av_frame_alloc();
//	t->out = av_frame_alloc();
//	t->pkt = av_packet_alloc();
//	if (!t->dec || !t->enc || !t->in || !t->tmp || !t->out || !t->pkt) return AVERROR(ENOMEM);
//	t->dec->extradata = av_mallocz(asclen + AV_INPUT_BUFFER_PADDING_SIZE);
//	if (!t->dec->extradata) return AVERROR(ENOMEM);
//	memcpy(t->dec->extradata, asc, asclen);
//	t->dec->extradata_size = asclen;
//	t->dec->sample_rate = rate;
//	av_channel_layout_default(&t->dec->ch_layout, channels);
//	if ((res = avcodec_open2(t->dec, dc, NULL)) < 0) return res;
//
//	int och = channels >= 2 ? 2 : 1;
//	t->enc->sample_rate = 48000;
//	t->enc->sample_fmt = AV_SAMPLE_FMT_S16;
//	av_channel_layout_default(&t->enc->ch_layout, och);
//	t->enc->bit_rate = bitrate;
//	t->enc->time_base = (AVRational){1, 48000};
//	AVDictionary *opts = NULL;
//	av_dict_set(&opts, "frame_duration", "20", 0);
//	av_dict_set(&opts, "application", "audio", 0);
//	res = avcodec_open2(t->enc, ec, &opts);
//	av_dict_free(&opts);
//	if (res < 0) return res;
//
//	t->fifo = av_audio_fifo_alloc(AV_SAMPLE_FMT_S16, och, 4096);
//	if (!t->fifo) return AVERROR(ENOMEM);
//	t->tmp->format = AV_SAMPLE_FMT_S16;
//	t->tmp->nb_samples = TMP_SAMPLES;
//	t->tmp->sample_rate = 48000;
//	if ((res = av_channel_layout_copy(&t->tmp->ch_layout, &t->enc->ch_layout)) < 0) return res;
//	if ((res = av_frame_get_buffer(t->tmp, 0)) < 0) return res;
//	t->out->format = AV_SAMPLE_FMT_S16;
//	t->out->nb_samples = t->enc->frame_size;
//	t->out->sample_rate = 48000;
//	if ((res = av_channel_layout_copy(&t->out->ch_layout, &t->enc->ch_layout)) < 0) return res;
//	return av_frame_get_buffer(t->out, 0);
// }
//
// // tcPush decodes one AAC access unit into the FIFO, at 48 kHz.
// static int tcPush(transcoder *t, const uint8_t *data, int size) {
//	int res = av_new_packet(t->pkt, size);
//	if (res < 0) return res;
//	memcpy(t->pkt->data, data, size);
//	res = avcodec_send_packet(t->dec, t->pkt);
//	av_packet_unref(t->pkt);
//	if (res < 0) return res;
//	for (;;) {
//		res = avcodec_receive_frame(t->dec, t->in);
//		if (res == AVERROR(EAGAIN) || res == AVERROR_EOF) return 0;
//		if (res < 0) return res;
//		if (!t->swr) {
//			res = swr_alloc_set_opts2(&t->swr, &t->enc->ch_layout, AV_SAMPLE_FMT_S16, 48000,
//				&t->in->ch_layout, t->in->format, t->in->sample_rate, 0, NULL);
//			if (res >= 0) res = swr_init(t->swr);
//			if (res < 0) { av_frame_unref(t->in); return res; }
//		}
//		int n = swr_convert(t->swr, t->tmp->data, TMP_SAMPLES, (const uint8_t **)t->in->extended_data, t->in->nb_samples);
//		av_frame_unref(t->in);
//		if (n < 0) return n;
//		if (n > 0 && (res = av_audio_fifo_write(t->fifo, (void **)t->tmp->data, n)) < 0) return res;
//	}
// }
//
// // tcPull writes the next Opus packet into out and returns its size, or 0
// // when there are not 20 ms of samples yet.
// static int tcPull(transcoder *t, uint8_t *out, int cap) {
//	for (;;) {
//		int res = avcodec_receive_packet(t->enc, t->pkt);
//		if (res >= 0) {
//			int n = t->pkt->size;
//			if (n > cap) n = cap;
//			memcpy(out, t->pkt->data, n);
//			av_packet_unref(t->pkt);
//			return n;
//		}
//		if (res != AVERROR(EAGAIN)) return res;
//		if (av_audio_fifo_size(t->fifo) < t->enc->frame_size) return 0;
//		if ((res = av_frame_make_writable(t->out)) < 0) return res;
//		if ((res = av_audio_fifo_read(t->fifo, (void **)t->out->data, t->enc->frame_size)) < 0) return res;
//		t->out->pts = t->pts;
//		t->pts += t->enc->frame_size;
//		if ((res = avcodec_send_frame(t->enc, t->out)) < 0) return res;
//	}
// }
//
// // A decoder of any audio codec to mono float samples (the first
// // channel), for checking what the relay sends.
// typedef struct {
//	AVCodecContext *ctx;
//	AVFrame *frame;
//	AVPacket *pkt;
// } decoder;
//
// static void decFree(decoder *d) {
//	if (!d) return;
//	avcodec_free_context(&d->ctx);
//	av_frame_free(&d->frame);
//	av_packet_free(&d->pkt);
//	av_free(d);
// }
//
// static int decOpen(decoder **pd, const char *name, int rate, int channels) {
//	decoder *d = av_mallocz(sizeof(decoder));
//	if (!d) return AVERROR(ENOMEM);
//	*pd = d;
//	const AVCodec *c = avcodec_find_decoder_by_name(name);
//	if (!c) return AVERROR_DECODER_NOT_FOUND;
//	d->ctx = avcodec_alloc_context3(c);
//	d->frame = av_frame_alloc();
//	d->pkt = av_packet_alloc();
//	if (!d->ctx || !d->frame || !d->pkt) return AVERROR(ENOMEM);
//	d->ctx->sample_rate = rate;
//	av_channel_layout_default(&d->ctx->ch_layout, channels);
//	return avcodec_open2(d->ctx, c, NULL);
// }
//
// // decRun decodes one packet and appends up to cap samples to out; it
// // returns how many, and the sample rate in *rate.
// static int decRun(decoder *d, const uint8_t *data, int size, float *out, int cap, int *rate) {
//	int res = av_new_packet(d->pkt, size);
//	if (res < 0) return res;
//	memcpy(d->pkt->data, data, size);
//	res = avcodec_send_packet(d->ctx, d->pkt);
//	av_packet_unref(d->pkt);
//	if (res < 0) return res;
//	int n = 0;
//	for (;;) {
//		res = avcodec_receive_frame(d->ctx, d->frame);
//		if (res == AVERROR(EAGAIN) || res == AVERROR_EOF) return n;
//		if (res < 0) return res;
//		*rate = d->frame->sample_rate;
//		int ch = d->frame->ch_layout.nb_channels;
//		for (int i = 0; i < d->frame->nb_samples && n < cap; i++) {
//			float v = 0;
//			switch (d->frame->format) {
//			case AV_SAMPLE_FMT_FLTP: v = ((float *)d->frame->extended_data[0])[i]; break;
//			case AV_SAMPLE_FMT_FLT: v = ((float *)d->frame->extended_data[0])[i * ch]; break;
//			case AV_SAMPLE_FMT_S16P: v = ((int16_t *)d->frame->extended_data[0])[i] / 32768.0f; break;
//			case AV_SAMPLE_FMT_S16: v = ((int16_t *)d->frame->extended_data[0])[i * ch] / 32768.0f; break;
//			}
//			out[n++] = v;
//		}
//		av_frame_unref(d->frame);
//	}
// }
import "C"

import (
	"errors"
	"fmt"
	"math"
	"unsafe"
)

// opusMaxPacket bounds one Opus packet (RFC 6716 allows 1275 bytes a
// frame; at 32 kbit/s a 20 ms one is about 80).
const opusMaxPacket = 1500

// OpusTranscoder turns AAC access units into 20 ms Opus packets at 48 kHz:
// libavcodec decodes, libswresample resamples, libopus encodes. A camera
// needs one, whatever its number of viewers. It is not safe for concurrent
// use.
type OpusTranscoder struct {
	t   *C.transcoder
	buf []byte
}

// NewOpusTranscoder opens a transcoder for AAC described by its
// AudioSpecificConfig, sample rate and channels. Mono stays mono (32
// kbit/s); more channels become stereo (64 kbit/s).
func NewOpusTranscoder(config []byte, rate, channels int) (*OpusTranscoder, error) {
	if len(config) == 0 {
		return nil, errors.New("AAC without its AudioSpecificConfig")
	}
	bitrate := 32000
	if channels >= 2 {
		bitrate = 64000
	}
	var t *C.transcoder
	res := C.tcOpen(&t, (*C.uint8_t)(unsafe.Pointer(&config[0])), C.int(len(config)), C.int(rate), C.int(max(channels, 1)), C.int(bitrate))
	if res < 0 {
		C.tcFree(t)
		return nil, avError("AAC to Opus", res)
	}
	return &OpusTranscoder{t: t, buf: make([]byte, opusMaxPacket)}, nil
}

// Transcode takes one AAC access unit and calls emit with every Opus
// packet now ready (a fresh slice each, 0 to 2 of them).
func (o *OpusTranscoder) Transcode(au []byte, emit func(opus []byte)) error {
	if len(au) == 0 {
		return nil
	}
	if res := C.tcPush(o.t, (*C.uint8_t)(unsafe.Pointer(&au[0])), C.int(len(au))); res < 0 {
		// a damaged access unit: the decoder goes on with the next one
		return avError("decode AAC", res)
	}
	for {
		n := C.tcPull(o.t, (*C.uint8_t)(unsafe.Pointer(&o.buf[0])), C.int(len(o.buf)))
		if n < 0 {
			return avError("encode Opus", n)
		}
		if n == 0 {
			return nil
		}
		emit(append([]byte(nil), o.buf[:n]...))
	}
}

// Close frees the transcoder.
func (o *OpusTranscoder) Close() {
	C.tcFree(o.t)
	o.t = nil
}

// DecodeAudio decodes packets of codec (a libavcodec decoder name such as
// "opus" or "pcm_mulaw") and returns the first channel's samples, from -1
// to 1, and their sample rate. Tests check with it what the relay sends.
func DecodeAudio(codec string, rate, channels int, packets [][]byte) ([]float32, int, error) {
	name := C.CString(codec)
	defer C.free(unsafe.Pointer(name))
	var d *C.decoder
	if res := C.decOpen(&d, name, C.int(rate), C.int(channels)); res < 0 {
		C.decFree(d)
		return nil, 0, avError("open "+codec+" decoder", res)
	}
	defer C.decFree(d)
	var out []float32
	buf := make([]float32, 8192)
	var got C.int
	for i, p := range packets {
		if len(p) == 0 {
			continue
		}
		n := C.decRun(d, (*C.uint8_t)(unsafe.Pointer(&p[0])), C.int(len(p)), (*C.float)(unsafe.Pointer(&buf[0])), C.int(len(buf)), &got)
		if n < 0 {
			return out, int(got), avError(fmt.Sprintf("packet %d", i), n)
		}
		out = append(out, buf[:n]...)
	}
	return out, int(got), nil
}

// ToneStats returns the RMS of samples and their frequency from zero
// crossings: with DecodeAudio, how tests tell that a tone came through.
func ToneStats(samples []float32, rate int) (rms, hz float64) {
	var sum float64
	crossings := 0
	for i, s := range samples {
		sum += float64(s) * float64(s)
		if i > 0 && (samples[i-1] < 0) != (s < 0) {
			crossings++
		}
	}
	n := float64(len(samples))
	return math.Sqrt(sum / n), float64(crossings) / 2 / (n / float64(rate))
}
