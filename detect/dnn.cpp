#include "dnn.h"

#include <cstring>
#include <exception>
#include <opencv2/core.hpp>
#include <opencv2/dnn.hpp>
#include <opencv2/imgproc.hpp>

struct qly_dnn {
    cv::dnn::Net net;
    cv::Mat bgr, blob, out;
};

static void say(const std::exception &e, char *err, int errlen) {
    std::strncpy(err, e.what(), errlen - 1);
    err[errlen - 1] = 0;
}

qly_dnn *qly_dnn_load(const char *model, const char *config, char *err, int errlen) {
    try {
        qly_dnn *d = new qly_dnn();
        d->net = cv::dnn::readNet(model, config ? config : "");
        if (d->net.empty()) {
            delete d;
            std::strncpy(err, "OpenCV read no layers from it", errlen - 1);
            return nullptr;
        }
        return d;
    } catch (const std::exception &e) {
        say(e, err, errlen);
        return nullptr;
    }
}

void qly_dnn_free(qly_dnn *d) { delete d; }

const float *qly_dnn_run(qly_dnn *d, const uint8_t *i420, int width, int height, int size,
                         int *dims, int *ndims, int *count, char *err, int errlen) {
    try {
        cv::Mat yuv(height * 3 / 2, width, CV_8UC1, const_cast<uint8_t *>(i420));
        cv::cvtColor(yuv, d->bgr, cv::COLOR_YUV2BGR_I420);
        d->blob = cv::dnn::blobFromImage(d->bgr, 1.0 / 255, cv::Size(size, size), cv::Scalar(), true, false);
        d->net.setInput(d->blob);
        d->out = d->net.forward();
        if (!d->out.isContinuous()) d->out = d->out.clone();
        if (d->out.depth() != CV_32F) throw std::runtime_error("the output is not 32-bit floats");
        *ndims = std::min(d->out.dims, 8);
        for (int i = 0; i < *ndims; i++) dims[i] = d->out.size[i];
        *count = int(d->out.total());
        return d->out.ptr<float>();
    } catch (const std::exception &e) {
        say(e, err, errlen);
        return nullptr;
    }
}
