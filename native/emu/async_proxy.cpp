// async_proxy.cpp - the async proxy's view of the block's dynamic shared memory (emu/runtime.h):
// a copy the fences refresh and async writes update, against which async reads are compared.
#include <cstring>
#include <string>
#include <vector>

#include "deepkern/emu/runtime.h"
#include "deepkern/emu/shared.h"

namespace dk::emu::rt {
namespace {

// The running block's view, poison (as shared memory starts) until a fence.
std::vector<unsigned char>& view() {
    static thread_local uint64_t serial = 0;
    static thread_local std::vector<unsigned char> bytes;
    if (serial != block_serial) {
        serial = block_serial;
        bytes.assign(dynamic_shared.bytes, 0xff);
    }
    return bytes;
}

}  // namespace

void fence_proxy_async() {
    std::vector<unsigned char>& v = view();
    if (!v.empty()) std::memcpy(v.data(), dynamic_shared.base, v.size());
}

void async_proxy_wrote(uint32_t offset, size_t bytes) {
    std::memcpy(view().data() + offset, dynamic_shared.base + offset, bytes);
}

void async_proxy_read(uint32_t offset, size_t bytes, const char* what) {
    const std::vector<unsigned char>& v = view();
    for (size_t i = 0; i < bytes; ++i)
        if (v[offset + i] != dynamic_shared.base[offset + i])
            kernel_error(std::string(what) + " reads dynamic shared offset " + std::to_string(offset + i) +
                         ", written through the generic proxy (plain stores or cp.async) with no fence.proxy.async "
                         "since: the async proxy may not see it");
}

}  // namespace dk::emu::rt
