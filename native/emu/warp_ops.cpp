// warp_ops.cpp - shuffles and votes as warp collectives, with CUDA's documented semantics.
//
// Shuffles work in segments of `width` lanes. idx reads lane (src % width) of the segment;
// up/down read lane -/+ delta and keep their own value when that leaves the segment; xor reads
// lane ^ mask and keeps its own value when that lies in a later segment. Reading a lane outside
// the mask fails the launch (on the GPU the value would be undefined).
#include <string>

#include "deepkern/emu/intrinsics.h"

namespace dk::emu::rt {
namespace {

struct ShuffleSlot {
    uint64_t value;
    unsigned arg;
    int width;
    uint64_t result;
};

const char* shuffle_name(ShuffleMode mode) {
    switch (mode) {
        case ShuffleMode::idx: return "__shfl_sync";
        case ShuffleMode::up: return "__shfl_up_sync";
        case ShuffleMode::down: return "__shfl_down_sync";
        case ShuffleMode::bfly: return "__shfl_xor_sync";
    }
    return "?";
}

unsigned source_lane(ShuffleMode mode, unsigned lane, unsigned arg, unsigned width) {
    const unsigned base = lane & ~(width - 1);
    switch (mode) {
        case ShuffleMode::idx: return base + (arg & (width - 1));
        case ShuffleMode::up: return lane - base >= arg ? lane - arg : lane;
        case ShuffleMode::down: return lane - base + arg < width ? lane + arg : lane;
        case ShuffleMode::bfly: {
            const unsigned src = lane ^ arg;
            return src < base + width ? src : lane;
        }
    }
    return lane;
}

template <ShuffleMode Mode>
void complete_shuffle(void* const* slots, unsigned mask) {
    for (unsigned m = mask; m; m &= m - 1) {
        const unsigned lane = unsigned(__builtin_ctz(m));
        auto* s = static_cast<ShuffleSlot*>(slots[lane]);
        const unsigned src = source_lane(Mode, lane, s->arg, unsigned(s->width));
        if (!(mask >> src & 1u))
            kernel_error(std::string(shuffle_name(Mode)) + ": lane " + std::to_string(lane) + " reads lane " +
                         std::to_string(src) + ", which is not in the mask");
        s->result = static_cast<ShuffleSlot*>(slots[src])->value;
    }
}

struct VoteSlot {
    int predicate;
    unsigned result;
};

template <VoteMode Mode>
void complete_vote(void* const* slots, unsigned mask) {
    unsigned ballot = 0;
    for (unsigned m = mask; m; m &= m - 1)
        if (static_cast<VoteSlot*>(slots[__builtin_ctz(m)])->predicate) ballot |= m & (~m + 1);
    const unsigned result = Mode == VoteMode::ballot ? ballot
                            : Mode == VoteMode::any  ? unsigned(ballot != 0)
                                                     : unsigned(ballot == mask);
    for (unsigned m = mask; m; m &= m - 1) static_cast<VoteSlot*>(slots[__builtin_ctz(m)])->result = result;
}

}  // namespace

uint64_t shuffle(ShuffleMode mode, unsigned mask, uint64_t value, unsigned arg, int width) {
    if (width < 1 || width > 32 || (width & (width - 1)))
        kernel_error(std::string(shuffle_name(mode)) + ": width " + std::to_string(width) +
                     " is not a power of two in [1, 32]");
    ShuffleSlot slot{value, arg, width, 0};
    static constexpr Complete complete[] = {complete_shuffle<ShuffleMode::idx>, complete_shuffle<ShuffleMode::up>,
                                            complete_shuffle<ShuffleMode::down>, complete_shuffle<ShuffleMode::bfly>};
    warp_collective(shuffle_name(mode), mask, &slot, complete[int(mode)]);
    return slot.result;
}

unsigned vote(VoteMode mode, unsigned mask, int predicate) {
    VoteSlot slot{predicate, 0};
    static constexpr const char* names[] = {"__ballot_sync", "__any_sync", "__all_sync"};
    static constexpr Complete complete[] = {complete_vote<VoteMode::ballot>, complete_vote<VoteMode::any>,
                                            complete_vote<VoteMode::all>};
    warp_collective(names[int(mode)], mask, &slot, complete[int(mode)]);
    return slot.result;
}

}  // namespace dk::emu::rt
