// The libp2p notice a requester sends its online peers when it posts an open job: "read the open
// jobs now". The job itself is only in resource_mesh (validated, claimed there); the notice carries
// nothing a worker acts on but the hint to read, so a false notice costs one bounded read.
import { z } from "zod";

export const openJobProtocol = "/ripple-mesh/open-job/1.0.0";
export const openJobProtocolMaxBytes = 1024;

export const openJobNoticeSchema = z.strictObject({
  job: z.string().regex(/^uhCkk[A-Za-z0-9_-]{48}$/, "an action hash in base64 (uhCkk…)"),
});
export type OpenJobNotice = z.infer<typeof openJobNoticeSchema>;
