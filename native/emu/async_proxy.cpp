// async_proxy.cpp - the async proxy's view of the block's dynamic shared memory (emu/runtime.h):
// a copy the fences refresh and async writes update, against which async reads are compared.
#include <cstring>
#include <string>
#include <vector>

#include "deepkern/emu/runtime.h"
#include "deepkern/emu/shared.h"

namespace dk::emu::rt {
namespace {

constexpr unsigned char kUnknown = 0xff;  // a span tag: not written by TMA

// The running block's view, poison (as shared memory starts) until a fence, and per byte the
// swizzle span TMA wrote it in (span / 16, or kUnknown).
struct View {
    uint64_t serial = 0;
    std::vector<unsigned char> bytes, span;
};

View& view() {
    static thread_local View v;
    if (v.serial != block_serial) {
        v.serial = block_serial;
        v.bytes.assign(dynamic_shared.bytes, 0xff);
        v.span.assign(dynamic_shared.bytes, kUnknown);
    }
    return v;
}

}  // namespace

void fence_proxy_async() {
    View& v = view();
    for (size_t i = 0; i < v.bytes.size(); ++i)
        if (v.bytes[i] != dynamic_shared.base[i]) {  // a plain write: no longer in TMA's layout
            v.bytes[i] = dynamic_shared.base[i];
            v.span[i] = kUnknown;
        }
}

void async_proxy_wrote(uint32_t offset, size_t bytes, int swizzle_span) {
    View& v = view();
    std::memcpy(v.bytes.data() + offset, dynamic_shared.base + offset, bytes);
    std::memset(v.span.data() + offset, swizzle_span / 16, bytes);
}

void async_proxy_read(uint32_t offset, size_t bytes, const char* what, int swizzle_span) {
    const View& v = view();
    for (size_t i = offset; i < offset + bytes; ++i) {
        if (v.bytes[i] != dynamic_shared.base[i])
            kernel_error(std::string(what) + " reads dynamic shared offset " + std::to_string(i) +
                         ", written through the generic proxy (plain stores or cp.async) with no fence.proxy.async "
                         "since: the async proxy may not see it");
        if (swizzle_span >= 0 && v.span[i] != kUnknown && v.span[i] != swizzle_span / 16)
            kernel_error(std::string(what) + " reads dynamic shared offset " + std::to_string(i) + " as " +
                         (swizzle_span ? std::to_string(swizzle_span) + "-byte swizzled" : std::string("unswizzled")) +
                         ", but TMA wrote it " +
                         (v.span[i] ? std::to_string(16 * v.span[i]) + "-byte swizzled" : std::string("unswizzled")) +
                         ": the descriptor's swizzle does not match the data's layout");
    }
}

}  // namespace dk::emu::rt
