// emu.cpp - dk_emu_get_options / dk_emu_set_options: the emulator's launch options,
// stored per context. Launches read them when they start.
#include "api.h"

using namespace dk;

namespace {

void check_emu_context(const dk_context* ctx) {
    if (ctx->device.device_type != DK_DEVICE_EMU)
        fail(DK_ERROR_INVALID_ARGUMENT, "argument 'ctx': expected an emu context, got a " + device_name(ctx->device) +
                                            " context");
}

}  // namespace

extern "C" {

DK_API dk_status dk_emu_get_options(const dk_context* ctx, dk_emu_options* options) {
    return guard_ctx("dk_emu_get_options", ctx, [&] {
        check_emu_context(ctx);
        if (!options) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'options': NULL");
        *options = ctx->emu_options;
    });
}

DK_API dk_status dk_emu_set_options(dk_context* ctx, const dk_emu_options* options) {
    return guard_ctx("dk_emu_set_options", ctx, [&] {
        check_emu_context(ctx);
        if (!options) fail(DK_ERROR_INVALID_ARGUMENT, "argument 'options': NULL");
        if (options->schedule < DK_EMU_FORWARD || options->schedule > DK_EMU_RANDOM)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'options.schedule': expected 0 (forward), 1 (reverse) or "
                                            "2 (random), got " + std::to_string(options->schedule));
        if (options->shared_limit < 0)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'options.shared_limit': expected bytes >= 0, got " +
                                                std::to_string(options->shared_limit));
        if (options->threads < 0)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'options.threads': expected >= 0 (0 = all workers), got " +
                                                std::to_string(options->threads));
        const int32_t cc = options->compute_capability;
        if (cc != 80 && cc != 86 && cc != 89 && cc != 90)
            fail(DK_ERROR_INVALID_ARGUMENT, "argument 'options.compute_capability': expected 80, 86, 89 or 90, got " +
                                                std::to_string(cc));
        static_cast<dk_emu_options&>(ctx->emu_options) = *options;
    });
}

}  // extern "C"
