// validate.h - argument checks shared by every op. Each failure throws dk::Error with
// DK_ERROR_INVALID_ARGUMENT and a message naming the argument and the expected vs actual value.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "deepkern.h"
#include "deepkern/ops.h"

namespace dk {

// A validated, compact tensor: its dtype, first element and extent.
struct Checked {
    const char* name;
    DType dtype;
    void* data;  // data + byte_offset
    std::vector<int64_t> shape;
    int64_t numel;
    int64_t bytes;
};

constexpr int kMaxDims = 16;
// The largest tensor in bytes: byte counts stay far from int64 overflow.
constexpr int64_t kMaxBytes = int64_t(1) << 62;

// "argument 'name': ", the start of every argument error message.
std::string arg(const char* name);

int64_t dtype_size(DType t);
const char* dtype_name(DType t);
std::string shape_string(const std::vector<int64_t>& shape);

// Structure, dtype, size overflow and device (must be the context's): what a shape query needs.
// The data pointer is neither checked nor set.
Checked check_meta(const dk_context* ctx, const char* name, const dk_tensor* t);
// check_meta plus compactness, a data pointer and its alignment.
Checked check_tensor(const dk_context* ctx, const char* name, const dk_tensor* t);
// The element count of shape; fails naming 'name' when its bytes would exceed kMaxBytes.
int64_t checked_numel(const char* name, const std::vector<int64_t>& shape, DType dtype);

// check_tensor plus like's dtype and shape.
Checked check_like(const dk_context* ctx, const char* name, const dk_tensor* t, const Checked& like);

void check_floating(const Checked& t);
void check_dtype(const Checked& t, DType dtype);
// t's shape must be shape; why, when given, says whose shape that is.
void check_shape(const Checked& t, const std::vector<int64_t>& shape, const std::string& why = "");
void check_same_shape(const Checked& t, const Checked& like);
void check_same_dtype(const Checked& t, const Checked& like);
// out may be x itself (in place) but must not partially overlap it.
void check_no_partial_overlap(const Checked& out, const Checked& in);
// out must share no byte with in; note, if given, is added to the message.
void check_disjoint(const Checked& out, const Checked& in, const char* note = "");

// A dk_activation's kind and parameters (activation_ops.cpp), named as argument 'name'.
ActParams check_activation(const dk_activation* act, const char* name = "act");

}  // namespace dk
