package org.deepkern.nn;

import java.util.List;
import org.deepkern.DeepKernException;
import org.deepkern.Tensor;

/**
 * torch.nn.Sequential: the modules applied in order, the output of each the input of the next;
 * the submodules are named "0", "1", ...
 */
public final class Sequential extends Module {
    private final List<Module> modules;

    /** @param modules the modules, which it adopts, in the order they apply */
    public Sequential(Module... modules) {
        if (modules == null) throw DeepKernException.invalidArgument("new Sequential", "modules", "expected modules, got null");
        for (int i = 0; i < modules.length; i++) registerModule(Integer.toString(i), modules[i]);
        this.modules = List.of(modules);
    }

    /**
     * @param index the position, 0 first
     * @return the module there
     */
    public Module get(int index) {
        return modules.get(index);
    }

    /** @return how many modules there are */
    public int size() {
        return modules.size();
    }

    /**
     * Applies the modules in order, closing each intermediate output once the next module has
     * used it (also when that module fails).
     *
     * @param input the first module's input
     * @return the last module's output (input itself when there are none, as in torch)
     */
    @Override
    public Tensor forward(Tensor input) {
        Tensor x = input;
        for (Module m : modules) {
            Tensor y;
            try {
                y = m.forward(x);
            } catch (RuntimeException e) {
                if (x != input) x.close();
                throw e;
            }
            if (x != input && x != y) x.close();  // a module may hand its input back (an identity)
            x = y;
        }
        return x;
    }
}
