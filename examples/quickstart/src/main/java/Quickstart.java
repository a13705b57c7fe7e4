import java.util.Map;
import org.deepkern.DType;
import org.deepkern.DeepKern;
import org.deepkern.Device;
import org.deepkern.Generator;
import org.deepkern.Scope;
import org.deepkern.Tensor;
import org.deepkern.diffusion.DdimScheduler;
import org.deepkern.diffusion.NoiseSchedule;
import org.deepkern.diffusion.SchedulerOutput;
import org.deepkern.nn.TransformerBlock;
import org.deepkern.ops.F;

public class Quickstart {
    public static void main(String[] args) {
        Device device = DeepKern.defaultDevice();  // the first GPU, else cpu; DEEPKERN_DEVICE=emu|cpu|cuda:N
        try (Scope scope = Scope.open()) {          // closes every tensor made inside
            // torch.randn(4, 1024), arithmetic with broadcasting, reductions
            Tensor x = Tensor.randn(4, 1024);
            Tensor y = x.mul(2).add(1).sub(x.mean(-1, true));
            System.out.printf("mean %.4f, max %.4f%n", y.mean().item(), y.max().item());
            System.out.println(F.softmax(x.narrow(1, 0, 4), -1));

            // a transformer block (LLaMA-style: RMSNorm, causal GQA attention with RoPE, SwiGLU MLP),
            // its weights loaded from a state dict, as model.load_state_dict(checkpoint)
            Map<String, Tensor> checkpoint;
            try (TransformerBlock trained = new TransformerBlock(256, 8, 2, 512, DType.F32, device, new Generator(1))) {
                checkpoint = trained.stateDict();
                checkpoint.replaceAll((name, t) -> t.clone());  // the checkpoint outlives the module
            }
            TransformerBlock block = new TransformerBlock(256, 8, 2, 512, DType.F32, device, new Generator(2));
            block.loadStateDict(checkpoint);
            block.eval();
            System.out.println(block);

            // a diffusers-style DDIM loop with the block as the noise predictor: each step's tensors
            // are closed as the loop goes, so only the current sample stays alive
            DdimScheduler scheduler = new DdimScheduler(NoiseSchedule.ddpm());  // clip_sample=True, as diffusers
            scheduler.setTimesteps(20);
            Generator generator = new Generator(42);
            scheduler.generator(generator);
            Tensor latents;
            try (Tensor noise = Tensor.randn(new long[] {1, 16, 256}, DType.F32, device, generator)) {
                latents = noise.mul(scheduler.initNoiseSigma());
            }
            for (double t : scheduler.timesteps()) {
                try (Tensor input = scheduler.scaleModelInput(latents, t);
                     Tensor eps = block.forward(input);
                     SchedulerOutput out = scheduler.step(eps, t, latents)) {
                    latents.close();
                    latents = out.takePrevSample();
                }
            }
            System.out.printf("sample std %.4f on %s%n", Math.sqrt(latents.mul(latents).mean().item()), device);
            latents.close();
            block.close();
        }
    }
}
