export declare const CONTROL_PLANE_NODE_FLAGS: readonly string[];
export declare const AGENT_NODE_FLAGS: readonly string[];
