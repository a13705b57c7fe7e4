package org.deepkern.cli;

import java.io.PrintWriter;
import java.util.List;
import java.util.concurrent.Callable;
import org.deepkern.nn.ReceptiveField;
import org.deepkern.nn.ReceptiveFieldNet;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code deepkern rf}: the receptive-field table of a well-known stack (pure arithmetic, no
 * device), so that a feature's input region can be looked up without running the network.
 */
@Command(name = "rf", mixinStandardHelpOptions = true,
        description = "Print per layer the output size, receptive field, jump (effective stride) and start of a known net.")
final class RfCommand implements Callable<Integer> {
    @Option(names = "--net", description = "vgg16, resnet50, fpn, pnet, rnet, onet or all (default: ${DEFAULT-VALUE})")
    String net = "all";

    @Option(names = "--size", arity = "2", paramLabel = "N", description = "the input's height and width (default: each net's own, 224 / 12 / 24 / 48)")
    int[] size;

    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        List<ReceptiveFieldNet> nets;
        if (net.equals("all")) {
            nets = List.of(ReceptiveFieldNet.values());
        } else {
            nets = List.of(ReceptiveFieldNet.values()).stream().filter(n -> n.cliName().equals(net)).toList();
            if (nets.isEmpty()) throw Main.bad(spec, "--net " + net + ": expected one of "
                    + List.of(ReceptiveFieldNet.values()).stream().map(ReceptiveFieldNet::cliName).toList() + " or all");
        }
        if (size != null && (size[0] < 1 || size[1] < 1)) throw Main.bad(spec, "--size " + size[0] + " " + size[1] + ": expected positive sides");
        StringBuilder text = new StringBuilder();  // every table first: a stack the size does not fit prints nothing
        for (ReceptiveFieldNet n : nets) {
            int h = size != null ? size[0] : n.defaultSize(), w = size != null ? size[1] : n.defaultSize();
            String table = ReceptiveField.table(n.outputs(h, w));
            text.append(nets.size() > 1 ? n.cliName() + " at " + h + "x" + w + ":\n" + table + "\n" : table);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.print(text);
        out.flush();
        return 0;
    }
}
