// tma.cpp - cp.async.bulk.tensor (tiled) on the emulator (emu/tma.h says how).
#include "deepkern/emu/tma.h"

#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "deepkern/emu/runtime.h"
#include "deepkern/emu/shared.h"
#include "deepkern/tma_map.h"

namespace dk::emu::rt {
namespace {

const TmaTiled& decode(const uint64_t* map, int rank, const char* what) {
    if (map[0] != kTensorMapTag)
        kernel_error(std::string(what) + ": the tensor map was not made by make_tensor_map");
    const TmaTiled& t = *reinterpret_cast<const TmaTiled*>(&map[1]);
    if (t.rank != rank)
        kernel_error(std::string(what) + " with " + std::to_string(rank) + " coordinates on a tensor map of rank " +
                     std::to_string(t.rank));
    return t;
}

int span(const TmaTiled& t) { return t.swizzle == TmaSwizzle::none ? 0 : 16 << int(t.swizzle); }

uint32_t box_bytes(const TmaTiled& t) {
    uint32_t bytes = uint32_t(t.element_bytes);
    for (int d = 0; d < t.rank; ++d) bytes *= t.box[d];
    return bytes;
}

// The shared box's offset in dynamic shared memory, checked: inside it and aligned as TMA needs.
uint32_t box_offset(const TmaTiled& t, const void* smem, const char* what) {
    const auto* p = static_cast<const unsigned char*>(smem);
    const DynamicShared& s = dynamic_shared;
    const size_t bytes = box_bytes(t);
    if (p < s.base || p + bytes > s.base + s.bytes)
        kernel_error(std::string(what) + ": the " + std::to_string(bytes) +
                     "-byte box does not lie in the block's dynamic shared memory");
    const uint32_t at = uint32_t(p - s.base);
    const uint32_t align = t.swizzle == TmaSwizzle::none ? 128 : 8 * (16u << uint32_t(t.swizzle));
    if (at % align != 0)
        kernel_error(std::string(what) + ": the box's shared address (dynamic offset " + std::to_string(at) +
                     ") is not " + std::to_string(align) + "-byte aligned" +
                     (t.swizzle == TmaSwizzle::none ? "" : " (the swizzle pattern's repeat)"));
    return at;
}

// f(shared offset of the element, global address or null outside the tensor) for every element of
// the box at coords, dim 0 fastest.
template <class F>
void each_element(const TmaTiled& t, uint32_t at, const int* coords, F&& f) {
    const int bits = t.swizzle == TmaSwizzle::none ? 0 : int(t.swizzle);
    uint32_t idx[5] = {0, 0, 0, 0, 0};
    for (uint32_t linear = 0;; ++linear) {
        bool inside = true;
        const auto* g = static_cast<const unsigned char*>(t.global);
        for (int d = 0; d < t.rank; ++d) {
            const int64_t c = int64_t(coords[d]) + idx[d];
            inside &= c >= 0 && uint64_t(c) < t.dims[d];
            g += c * (d == 0 ? int64_t(t.element_bytes) : int64_t(t.strides[d - 1]));
        }
        uint32_t a = at + linear * uint32_t(t.element_bytes);
        a ^= (a >> 3) & (((1u << bits) - 1) << 4);
        f(a, inside ? g : nullptr);
        int d = 0;
        while (d < t.rank && ++idx[d] == t.box[d]) idx[d++] = 0;
        if (d == t.rank) return;
    }
}

struct StoreGroup {
    std::vector<uint32_t> offsets;  // shared bytes read, with their values then
    std::vector<unsigned char> bytes;
};

struct StoreState {
    std::vector<StoreGroup> committed;
    StoreGroup open;
};

}  // namespace

void tma_load(void* smem, const uint64_t* map, void* bar, const int* coords, int rank) {
    require_sm90("cp.async.bulk.tensor");
    const TmaTiled& t = decode(map, rank, "cp.async.bulk.tensor (load)");
    const uint32_t at = box_offset(t, smem, "cp.async.bulk.tensor (load)");
    std::vector<int> c(coords, coords + rank);
    const TmaTiled params = t;  // the map may go out of scope before the copy lands
    mbarrier_defer_tx(bar, box_bytes(t), [params, at, c] {
        unsigned char* base = dynamic_shared.base;
        each_element(params, at, c.data(), [&](uint32_t a, const unsigned char* g) {
            if (g) std::memcpy(base + a, g, size_t(params.element_bytes));
            else std::memset(base + a, 0, size_t(params.element_bytes));
            async_proxy_wrote(a, size_t(params.element_bytes), span(params));
        });
    });
}

void tma_store(const uint64_t* map, const void* smem, const int* coords, int rank) {
    require_sm90("cp.async.bulk.tensor");
    const TmaTiled& t = decode(map, rank, "cp.async.bulk.tensor (store)");
    const uint32_t at = box_offset(t, smem, "cp.async.bulk.tensor (store)");
    StoreGroup& g = thread_state<StoreState>().open;
    const unsigned char* base = dynamic_shared.base;
    each_element(t, at, coords, [&](uint32_t a, const unsigned char* dst) {
        async_proxy_read(a, size_t(t.element_bytes), "cp.async.bulk.tensor (store)");
        for (int b = 0; b < t.element_bytes; ++b) {
            g.offsets.push_back(a + uint32_t(b));
            g.bytes.push_back(base[a + uint32_t(b)]);
        }
        if (dst) std::memcpy(const_cast<unsigned char*>(dst), base + a, size_t(t.element_bytes));
    });
}

void tma_store_commit() {
    StoreState& st = thread_state<StoreState>();
    st.committed.push_back(std::move(st.open));
    st.open = StoreGroup();
}

void tma_store_wait(int pending_groups) {
    StoreState& st = thread_state<StoreState>();
    const unsigned char* base = dynamic_shared.base;
    while (int(st.committed.size()) > pending_groups) {
        const StoreGroup& g = st.committed.front();
        for (size_t i = 0; i < g.offsets.size(); ++i)
            if (base[g.offsets[i]] != g.bytes[i])
                kernel_error("cp.async.bulk.wait_group.read: shared memory at dynamic offset " +
                             std::to_string(g.offsets[i]) + ", read by an in-flight TMA store, changed before the wait");
        st.committed.erase(st.committed.begin());
    }
}

}  // namespace dk::emu::rt
