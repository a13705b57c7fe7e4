package org.deepkern.bindings.presets;

import org.bytedeco.javacpp.annotation.NoException;
import org.bytedeco.javacpp.annotation.Platform;
import org.bytedeco.javacpp.annotation.Properties;
import org.bytedeco.javacpp.tools.Info;
import org.bytedeco.javacpp.tools.InfoMap;
import org.bytedeco.javacpp.tools.InfoMapper;

/**
 * All binding configuration for deepkern.h in one place. JavaCPP's parser reads the header at
 * build time and writes {@code org.deepkern.bindings.global.deepkern} (the functions) and one
 * class per struct in {@code org.deepkern.bindings}; nothing in those is written by hand. The C
 * API never throws (every function returns a dk_status), so the JNI layer catches nothing.
 */
@Properties(
        target = "org.deepkern.bindings",
        global = "org.deepkern.bindings.global.deepkern",
        value = @Platform(
                value = "linux-x86_64",
                include = "deepkern.h",
                link = "deepkern",
                compiler = "cpp17"))
@NoException
public class DeepKernPresets implements InfoMapper {

    @Override
    public void map(InfoMap infoMap) {
        infoMap.put(new Info("DEEPKERN_H").define(false))
                .put(new Info("DK_API").cppTypes().annotations())
                .put(new Info("dk_context").pointerTypes("dk_context"));
    }
}
