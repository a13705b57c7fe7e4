package org.deepkern.detect;

/** How a box's 4 coordinates are laid out, as torchvision's box_convert names them. */
public enum BoxFormat {
    /** Corners: x1, y1, x2, y2 ("xyxy"). */
    XYXY,
    /** Top-left corner, width, height ("xywh"). */
    XYWH,
    /** Centre, width, height ("cxcywh"). */
    CXCYWH
}
