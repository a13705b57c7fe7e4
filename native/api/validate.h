// validate.h - argument checks shared by every op. Each failure throws dk::Error with
// DK_ERROR_INVALID_ARGUMENT and a message naming the argument and the expected vs actual value.
#pragma once

#include <cstdint>
#include <string>
#include <initializer_list>

#include "deepkern.h"
#include "deepkern/backend.h"
#include "deepkern/error.h"

namespace dk {

constexpr int kMaxDims = 16;

// A list of at most N items kept in place: validation runs on every call, and allocates nothing.
template <class T, int N>
class Fixed {
public:
    Fixed() = default;
    Fixed(std::initializer_list<T> items) {
        for (const T& t : items) push_back(t);
    }
    Fixed(const T* first, const T* last) {
        for (; first != last; ++first) push_back(*first);
    }
    void push_back(const T& t) {
        if (n_ == N) throw Error(DK_ERROR_INTERNAL, "Fixed: more than its capacity");
        items_[n_++] = t;
    }
    void resize(size_t n) {
        if (n > size_t(N)) throw Error(DK_ERROR_INTERNAL, "Fixed: more than its capacity");
        for (int i = n_; i < int(n); ++i) items_[i] = T();
        n_ = int(n);
    }
    size_t size() const { return size_t(n_); }
    bool empty() const { return n_ == 0; }
    T& operator[](size_t i) { return items_[i]; }
    const T& operator[](size_t i) const { return items_[i]; }
    T& back() { return items_[n_ - 1]; }
    const T& back() const { return items_[n_ - 1]; }
    T* begin() { return items_; }
    T* end() { return items_ + n_; }
    const T* begin() const { return items_; }
    const T* end() const { return items_ + n_; }
    friend bool operator==(const Fixed& a, const Fixed& b) {
        if (a.n_ != b.n_) return false;
        for (int i = 0; i < a.n_; ++i)
            if (!(a.items_[i] == b.items_[i])) return false;
        return true;
    }
    friend bool operator!=(const Fixed& a, const Fixed& b) { return !(a == b); }

private:
    T items_[N]{};
    int n_ = 0;
};

using Shape = Fixed<int64_t, kMaxDims>;

// A validated tensor: its dtype, first element and extent; compact row-major unless it is a view
// that an op reads through its strides (check_view).
struct Checked {
    const char* name = "";
    DType dtype = DType::f32;
    void* data = nullptr;  // data + byte_offset
    Shape shape;
    Shape strides;         // in elements
    int64_t numel = 0;
    int64_t bytes = 0;     // the memory its elements span
    bool contiguous = true;
};

// The tensors of one call, to check outputs against (a call has a handful).
using CheckedList = Fixed<Checked, 12>;
// The largest tensor in bytes: byte counts stay far from int64 overflow.
constexpr int64_t kMaxBytes = int64_t(1) << 62;

// "argument 'name': ", the start of every argument error message.
std::string arg(const char* name);

int64_t dtype_size(DType t);
const char* dtype_name(DType t);
std::string shape_string(const Shape& shape);

// Structure, dtype, strides (NULL: compact; else non-negative, the span within 64-bit byte
// counts), size overflow and device (must be the context's): what a shape query needs. The data
// pointer is neither checked nor set.
Checked check_meta(const dk_context* ctx, const char* name, const dk_tensor* t);
// An input read through its strides, as it is (a view: transposed, sliced, expanded): check_meta
// plus a data pointer and its alignment.
Checked check_view(const dk_context* ctx, const char* name, const dk_tensor* t);
// An input: as check_view, and a view is copied into compact memory that lasts until the C call
// returns, which the op then reads (ops that read strides themselves use check_view).
Checked check_input(const dk_context* ctx, const char* name, const dk_tensor* t);
// x copied compact into memory that lasts until the C call returns (what check_input does to a view).
Checked scratch_copy(const dk_context* ctx, Checked x);
// An output: as check_view, and it must be contiguous (row-major, no gaps).
Checked check_tensor(const dk_context* ctx, const char* name, const dk_tensor* t);
// Row-major element strides of a compact shape.
Shape compact_strides(const Shape& shape);
// Whether strides are the row-major strides of shape (dims of extent 1 aside): a compact tensor.
bool row_major(const Shape& shape, const Shape& strides);
// Whether the elements of view t land on distinct addresses (an expanded view's do not).
bool distinct_elements(const Checked& t);
// A view written through its strides (an output): its elements must land on distinct addresses.
void check_distinct(const Checked& t);
// The element count of shape; fails naming 'name' when its bytes would exceed kMaxBytes.
int64_t checked_numel(const char* name, const Shape& shape, DType dtype);

// check_tensor plus like's dtype and shape; check_input_like the same for an input.
Checked check_like(const dk_context* ctx, const char* name, const dk_tensor* t, const Checked& like);
Checked check_input_like(const dk_context* ctx, const char* name, const dk_tensor* t, const Checked& like);
// Appends a dim (its extent, and one element stride per tensor walking it) to the dim list of a
// strided kernel's arguments (shape and each strides[k] with room for kMaxDims): dropped when its
// extent is 1, folded into the last dim where every tensor walks on contiguously across both, so a
// compact tensor becomes one flat dim and the kernel divides less per element.
template <size_t N>
void push_dim(int32_t& ndim, int64_t* shape, int64_t* const (&strides)[N], int64_t extent, const int64_t (&s)[N]) {
    if (extent == 1) return;
    bool fold = ndim > 0;
    for (size_t k = 0; k < N && fold; ++k) fold = strides[k][ndim - 1] == s[k] * extent;
    for (size_t k = 0; k < N; ++k) strides[k][fold ? ndim - 1 : ndim] = s[k];
    if (fold) shape[ndim - 1] *= extent;
    else shape[ndim++] = extent;
}

// Copies view x (any strides) into compact out (numel elements of x's dtype) on the context's stream.
void copy_compact(dk_context* ctx, const Checked& x, void* out);

void check_floating(const Checked& t);
void check_dtype(const Checked& t, DType dtype);
// t's shape must be shape; why, when given, says whose shape that is.
void check_shape(const Checked& t, const Shape& shape, const char* why = nullptr);
void check_same_shape(const Checked& t, const Checked& like);
void check_same_dtype(const Checked& t, const Checked& like);
// out may be x itself (in place) but must not partially overlap it.
void check_no_partial_overlap(const Checked& out, const Checked& in);
// Whether the memory spans of a and b share a byte.
bool overlap(const Checked& a, const Checked& b);
// out must share no byte with in; note, if given, is added to the message.
void check_disjoint(const Checked& out, const Checked& in, const char* note = "");

// A shape query's answer: shape into out_shape (room for kMaxDims), its rank into *out_ndim.
void write_shape(const Shape& shape, int64_t* out_shape, int32_t* out_ndim);

// A dk_activation's kind and parameters (activation.cpp), named as argument 'name'.
ActParams check_activation(const dk_activation* act, const char* name = "act");

}  // namespace dk
