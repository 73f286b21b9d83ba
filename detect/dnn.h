// A C face for OpenCV's DNN module (objects.go). gocv's ReadNet lets a
// C++ exception out of a bad model file and aborts the process; these
// functions catch them and say what went wrong.
#ifndef QLY_DNN_H
#define QLY_DNN_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif

typedef struct qly_dnn qly_dnn;

// qly_dnn_load loads a model (ONNX, or Darknet weights with its cfg); on
// failure it returns NULL and writes a message into err (errlen bytes).
qly_dnn *qly_dnn_load(const char *model, const char *config, char *err, int errlen);
void qly_dnn_free(qly_dnn *d);

// qly_dnn_run runs the model over an I420 picture (width x height, planes
// packed), resized to size x size, RGB, scaled to 0-1. It returns the
// output's values (owned by d, valid until the next run) and writes its
// shape (up to 8 dims) into dims/ndims; NULL on failure with err set.
const float *qly_dnn_run(qly_dnn *d, const uint8_t *i420, int width, int height, int size,
                         int *dims, int *ndims, int *count, char *err, int errlen);

#ifdef __cplusplus
}
#endif
#endif
