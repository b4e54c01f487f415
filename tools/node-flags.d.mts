export declare const CONTROL_PLANE_NODE_FLAGS: readonly string[];
