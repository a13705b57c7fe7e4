/**
 * deepkern's Java API: tensors ({@link org.deepkern.Tensor}), the functional ops
 * ({@link org.deepkern.ops.F}), modules, diffusion samplers, and the probes benchmarks measure
 * devices with. The generated bindings and the code that calls them stay inside.
 */
module org.deepkern {
    requires org.bytedeco.javacpp;
    requires org.deepkern.bindings;

    exports org.deepkern;
    exports org.deepkern.ops;
    exports org.deepkern.autograd;
    exports org.deepkern.nn;
    exports org.deepkern.diffusion;
    exports org.deepkern.detect;
    exports org.deepkern.flow;
    exports org.deepkern.profile;
    exports org.deepkern.optim;
}
