// A C face for OpenCV's HOG people detector (people.go). gocv 0.31's own
// HOGDefaultPeopleDetector keeps a pointer into a freed vector, so its
// detector is garbage; this one owns its coefficients.
#ifndef QLY_HOG_H
#define QLY_HOG_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct qly_hog qly_hog;

qly_hog *qly_hog_new(void);
void qly_hog_free(qly_hog *h);

// qly_hog_find looks for people in the region (rx, ry, rw, rh) of an 8-bit
// gray picture, scaled by scale first (people come out best about 100 pixels
// tall). It writes up to max boxes (x, y, w, h in picture coordinates) and
// their SVM scores, and returns how many it found.
int qly_hog_find(qly_hog *h, const uint8_t *pix, int width, int height, int stride,
                 int rx, int ry, int rw, int rh, double scale, double hit,
                 int *boxes, double *scores, int max);

#ifdef __cplusplus
}
#endif
#endif
