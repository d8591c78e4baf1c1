// A server process for tests that need the model to be slow while the test (the client) stays responsive: the tiny
// fixture model, each model call made to last argv[3] ms (a busy wait, as a long batch would), handler options as
// JSON in argv[2], the header timeout in ms in argv[4] (optional). GET /ran lists the token-id sequences the model
// ran; GET /events the order in which model calls ("batch"), /health answers ("health") and /predict arrivals
// ("predict") happened in this process.
// Prints the URL, then serves until killed.
import { loadModelFromDir } from "../../dist/node/index.js";
import { createHandler, DEFAULT_ROUTES } from "../../dist/server/handler.js";
import { serveNode } from "../../dist/node/serve.js";

const [dir, optionsJson, msArg, headersArg] = process.argv.slice(2);
const model = await loadModelFromDir(dir);
const ms = Number(msArg);
const ran = [];
const events = [];
const slow = Object.create(model);
slow.logitsOf = (seqs, budget) => {
  const until = Date.now() + ms;
  while (Date.now() < until);
  for (const s of seqs) ran.push(Array.from(s));
  events.push("batch");
  return model.logitsOf(seqs, budget);
};
const ranRoute = { method: "GET", paths: ["/ran"], name: "ran", inference: false, handle: async () => Response.json(ran) };
const eventsRoute = { method: "GET", paths: ["/events"], name: "events", inference: false, handle: async () => Response.json(events) };
const routes = DEFAULT_ROUTES.map((r) =>
  r.name === "health" || r.name === "predict" ? { ...r, handle: (...args) => (events.push(r.name), r.handle(...args)) } : r,
);
const handler = createHandler(slow, { ...JSON.parse(optionsJson), routes: [...routes, ranRoute, eventsRoute] });
const node = await serveNode(handler, { host: "127.0.0.1", port: 0, headersTimeoutMs: headersArg === undefined ? undefined : Number(headersArg) });
process.stdout.write(node.url + "\n");
process.on("SIGTERM", () => node.shutdown().then(() => process.exit(0)));
