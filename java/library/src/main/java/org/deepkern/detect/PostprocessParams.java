package org.deepkern.detect;

/**
 * The settings of {@link Detect#postprocess}, as TensorRT's EfficientNMS plugin takes them.
 * Immutable; each {@code with...} returns a copy. {@link #defaults()}: score threshold 0.25, IoU
 * threshold 0.45 (ultralytics' defaults), top-k 4096 and 100 detections (EfficientNMS's), no
 * background class, corner boxes, scores already activated, NMS per class. The call checks the
 * values: thresholds not NaN, topK and maxDetections in 1 .. 4096, backgroundClass -1 or &gt;= 0.
 *
 * @param scoreThreshold a pair is a candidate where its score is strictly above this
 * @param iouThreshold a kept candidate suppresses later ones whose IoU with it is strictly above this
 * @param topK how many of the best candidates per image enter NMS
 * @param maxDetections the slots per image: NMS stops when this many are kept
 * @param backgroundClass a class never detected, or -1 for none
 * @param boxFormat the input boxes' format (the output's is always xyxy)
 * @param scoreSigmoid whether the scores are logits, the sigmoid applied (EfficientNMS's score_activation)
 * @param classAgnostic whether a candidate suppresses candidates of every class, not only of its own
 */
public record PostprocessParams(double scoreThreshold, double iouThreshold, int topK, int maxDetections,
                                long backgroundClass, BoxFormat boxFormat, boolean scoreSigmoid, boolean classAgnostic) {

    /** @return the defaults listed above */
    public static PostprocessParams defaults() {
        return new PostprocessParams(0.25, 0.45, 4096, 100, -1, BoxFormat.XYXY, false, false);
    }

    /**
     * @param v the score threshold
     * @return a copy with it
     */
    public PostprocessParams withScoreThreshold(double v) {
        return new PostprocessParams(v, iouThreshold, topK, maxDetections, backgroundClass, boxFormat, scoreSigmoid, classAgnostic);
    }

    /**
     * @param v the IoU threshold
     * @return a copy with it
     */
    public PostprocessParams withIouThreshold(double v) {
        return new PostprocessParams(scoreThreshold, v, topK, maxDetections, backgroundClass, boxFormat, scoreSigmoid, classAgnostic);
    }

    /**
     * @param k the candidates per image entering NMS
     * @return a copy with it
     */
    public PostprocessParams withTopK(int k) {
        return new PostprocessParams(scoreThreshold, iouThreshold, k, maxDetections, backgroundClass, boxFormat, scoreSigmoid, classAgnostic);
    }

    /**
     * @param d the slots per image
     * @return a copy with it
     */
    public PostprocessParams withMaxDetections(int d) {
        return new PostprocessParams(scoreThreshold, iouThreshold, topK, d, backgroundClass, boxFormat, scoreSigmoid, classAgnostic);
    }

    /**
     * @param c the background class, -1 for none
     * @return a copy with it
     */
    public PostprocessParams withBackgroundClass(long c) {
        return new PostprocessParams(scoreThreshold, iouThreshold, topK, maxDetections, c, boxFormat, scoreSigmoid, classAgnostic);
    }

    /**
     * @param f the input boxes' format
     * @return a copy with it
     */
    public PostprocessParams withBoxFormat(BoxFormat f) {
        return new PostprocessParams(scoreThreshold, iouThreshold, topK, maxDetections, backgroundClass, f, scoreSigmoid, classAgnostic);
    }

    /**
     * @param on whether the scores are logits
     * @return a copy with it
     */
    public PostprocessParams withScoreSigmoid(boolean on) {
        return new PostprocessParams(scoreThreshold, iouThreshold, topK, maxDetections, backgroundClass, boxFormat, on, classAgnostic);
    }

    /**
     * @param on whether NMS runs across classes
     * @return a copy with it
     */
    public PostprocessParams withClassAgnostic(boolean on) {
        return new PostprocessParams(scoreThreshold, iouThreshold, topK, maxDetections, backgroundClass, boxFormat, scoreSigmoid, on);
    }
}
