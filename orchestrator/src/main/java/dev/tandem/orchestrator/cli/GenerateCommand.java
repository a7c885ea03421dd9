package dev.tandem.orchestrator.cli;

import dev.tandem.api.engine.Engine;
import dev.tandem.api.engine.EngineConfig;
import dev.tandem.api.engine.EngineException;
import dev.tandem.api.engine.Engines;
import dev.tandem.api.engine.GenerateRequest;
import dev.tandem.api.engine.SamplingParams;
import dev.tandem.api.engine.StopConditions;
import dev.tandem.api.engine.TokenDelta;
import dev.tandem.api.engine.TokenListener;
import dev.tandem.api.tokenizer.Tokenizer;
import dev.tandem.api.tokenizer.TokenizerProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code tandem generate}: one request through one in-process engine, no server. With {@code --output ids} stdout
 * gets exactly one line, the generated ids comma-separated; everything else goes to stderr. Flags are a contract.
 */
@Command(
        name = "generate",
        mixinStandardHelpOptions = true,
        description = "Generate from a prompt (token ids or text) with one in-process engine.")
public final class GenerateCommand implements java.util.concurrent.Callable<Integer> {

    @Mixin
    ComputeOptions compute;

    @Option(
            names = "--model",
            required = true,
            description = "Model: a llama2.c checkpoint, a Hugging Face directory or org/name, or random:SHAPE"
                    + " (keys dim, hidden, layers, heads, kv_heads, vocab, seq, seed, bos, eos).")
    String model;

    @Option(names = "--engine", defaultValue = "native", description = "Engine (default: ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--prompt-ids", split = ",", description = "Prompt token ids, comma-separated.")
    List<Integer> promptIds;

    @Option(
            names = "--prompt",
            description = "Prompt text (needs the model's tokenizer; BOS is added when it has one).")
    String promptText;

    @Option(
            names = "--max-tokens",
            defaultValue = "16",
            description = "Tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--temperature", defaultValue = "0", description = "0 = greedy (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--top-p", defaultValue = "1", description = "Nucleus mass (default: ${DEFAULT-VALUE}).")
    double topP;

    @Option(names = "--seed", description = "Sampling seed.")
    Long seed;

    @Option(names = "--ignore-eos", description = "Keep generating through EOS.")
    boolean ignoreEos;

    @Option(
            names = "--output",
            defaultValue = "ids",
            description = "ids (one line of comma-separated ids) or text (default: ${DEFAULT-VALUE}).")
    String output;

    @Override
    public Integer call() throws Exception {
        if (!output.equals("ids") && !output.equals("text")) {
            throw new IllegalArgumentException("--output must be ids or text");
        }
        if ((promptIds == null) == (promptText == null)) {
            throw new IllegalArgumentException("give exactly one of --prompt-ids and --prompt");
        }
        Tokenizer tokenizer = null;
        if (output.equals("text") || promptText != null) {
            tokenizer = TokenizerProvider.find(model)
                    .map(TokenizerProvider.Loaded::tokenizer)
                    .orElseThrow(() -> new IllegalArgumentException("no tokenizer found for " + model
                            + " (a tokenizer.json in its directory, or tokenizer.bin beside a llama2.c file);"
                            + " use --prompt-ids and --output ids"));
        }
        Map<String, String> options = compute.engineOptions(engine);
        EngineConfig config = EngineConfig.builder()
                .workerId("generate")
                .model(model)
                .blockSize(16)
                .maxNumSeqs(1)
                .options(options)
                .build();
        int[] prompt = promptIds != null
                ? promptIds.stream().mapToInt(Integer::intValue).toArray()
                : encode(tokenizer);
        SamplingParams sampling = SamplingParams.GREEDY
                .withTemperature(temperature)
                .withTopP(topP)
                .withSeed(seed);
        StopConditions stop = StopConditions.maxTokens(maxTokens).withIgnoreEos(ignoreEos);
        LinkedBlockingQueue<Object> q = new LinkedBlockingQueue<>();
        List<Integer> ids = new ArrayList<>();
        try (Engine e = Engines.provider(engine).create(config)) {
            long t0 = System.nanoTime();
            e.generate(new GenerateRequest("generate", prompt, sampling, stop), new TokenListener() {
                @Override
                public void onDelta(TokenDelta d) {
                    q.add(d);
                }

                @Override
                public void onError(EngineException error) {
                    q.add(error);
                }
            });
            while (true) {
                Object o = q.poll(1, TimeUnit.HOURS);
                if (o instanceof EngineException err) {
                    throw err;
                }
                TokenDelta d = (TokenDelta) o;
                for (int id : d.tokenIds()) {
                    ids.add(id);
                }
                if (d.isFinal()) {
                    double s = (System.nanoTime() - t0) / 1e9;
                    System.err.printf(
                            "tandem: %d tokens in %.2f s (%s), prompt %d tokens%n",
                            ids.size(), s, d.finishReason().openAiName(), prompt.length);
                    break;
                }
            }
        }
        if (output.equals("text")) {
            System.out.println(
                    tokenizer.decode(ids.stream().mapToInt(Integer::intValue).toArray()));
        } else {
            System.out.println(ids.stream().map(String::valueOf).collect(Collectors.joining(",")));
        }
        return 0;
    }

    private int[] encode(Tokenizer tokenizer) {
        int[] ids = tokenizer.encode(promptText);
        if (tokenizer.bosTokenId() < 0) {
            return ids;
        }
        int[] out = new int[ids.length + 1];
        out[0] = tokenizer.bosTokenId();
        System.arraycopy(ids, 0, out, 1, ids.length);
        return out;
    }
}
