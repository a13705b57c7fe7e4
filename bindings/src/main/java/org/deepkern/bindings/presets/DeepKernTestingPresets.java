package org.deepkern.bindings.presets;

import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.javacpp.tools.Info;
import org.bytedeco.javacpp.tools.InfoMap;
import org.bytedeco.javacpp.tools.InfoMapper;

/**
 * The binding configuration of deepkern_testing.h (benchmark and profiling entry points, in the
 * same libdeepkern): {@code org.deepkern.bindings.global.deepkern_testing}, over deepkern.h's types.
 */
@Properties(
        inherit = DeepKernPresets.class,
        target = "org.deepkern.bindings",
        global = "org.deepkern.bindings.global.deepkern_testing",
        value = @Platform(include = "deepkern_testing.h"))
@NoException
public class DeepKernTestingPresets implements InfoMapper {

    @Override
    public void map(InfoMap infoMap) {
        infoMap.put(new Info("DEEPKERN_TESTING_H").define(false))
                .put(new Info("dk_timer").pointerTypes("dk_timer"));
    }
}
