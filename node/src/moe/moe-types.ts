// What an MOE job asks and returns (seed §11.5 `inference.moe_query`): the merged answer, each expert's
// vote, a consensus score and the trace id. Defined in the API types package, which the UI shares.
export type { ModelVote, MoeRequest, MoeResult } from "@ripple-mesh/api-types";
