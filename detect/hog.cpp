#include "hog.h"

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <opencv2/objdetect.hpp>

struct qly_hog {
    cv::HOGDescriptor hog;
    cv::Mat scaled, padded;
};

qly_hog *qly_hog_new(void) {
    try {
        qly_hog *h = new qly_hog();
        h->hog.setSVMDetector(cv::HOGDescriptor::getDefaultPeopleDetector());
        return h;
    } catch (...) {
        return nullptr;
    }
}

void qly_hog_free(qly_hog *h) { delete h; }

int qly_hog_find(qly_hog *h, const uint8_t *pix, int width, int height, int stride,
                 int rx, int ry, int rw, int rh, double scale, double hit,
                 int *boxes, double *scores, int max) {
    try {
        cv::Mat full(height, width, CV_8UC1, const_cast<uint8_t *>(pix), stride);
        cv::Rect roi = cv::Rect(rx, ry, rw, rh) & cv::Rect(0, 0, width, height);
        if (roi.empty()) return 0;
        cv::resize(full(roi), h->scaled, cv::Size(), scale, scale,
                   scale < 1 ? cv::INTER_AREA : cv::INTER_LINEAR);
        // The detection window is 64x128: a smaller region gets a border.
        int bx = std::max(0, (72 - h->scaled.cols + 1) / 2);
        int by = std::max(0, (136 - h->scaled.rows + 1) / 2);
        cv::copyMakeBorder(h->scaled, h->padded, by, by, bx, bx, cv::BORDER_REPLICATE);
        std::vector<cv::Rect> found;
        std::vector<double> weights;
        h->hog.detectMultiScale(h->padded, found, weights, hit, cv::Size(4, 4), cv::Size(8, 8), 1.05, 2, false);
        int n = 0;
        for (size_t i = 0; i < found.size() && n < max; i++) {
            const cv::Rect &r = found[i];
            boxes[4 * n + 0] = roi.x + int((r.x - bx) / scale);
            boxes[4 * n + 1] = roi.y + int((r.y - by) / scale);
            boxes[4 * n + 2] = int(r.width / scale);
            boxes[4 * n + 3] = int(r.height / scale);
            scores[n] = i < weights.size() ? weights[i] : 0;
            n++;
        }
        return n;
    } catch (...) {
        return -1;
    }
}
