// Models and the playground: one prompt to a base and a fine-tuned model side by side, streamed,
// with the system prompt, temperature and max tokens, and each answer's usage and latency.
"use strict";

(() => {
  const F = window.FTM;
  const {h, enc, link, code, int, when, field, options} = F;

  // The project's fine-tuned models and the configured base models, told apart by owner; the
  // embedding models among the bases are left out of the chat pickers.
  async function projectModels() {
    const all = (await F.api("/v1/models")).data;
    const isBase = (m) => m.owned_by === "openai";
    return {tuned: all.filter((m) => !isBase(m)),
      bases: all.filter((m) => isBase(m) && !/embedding/.test(m.id)).map((m) => m.id)};
  }

  async function modelsView(root) {
    const box = h("div");
    const load = async () => {
      const [{tuned: models}, jobs] = await Promise.all([projectModels(), F.jobNames()]);
      box.replaceChildren(models.length ? F.table("Fine-tuned models of this project",
        ["Model", "Base model", "Job", "Created", "Actions"], models.map((m) => {
          const remove = h("button", {type: "button", class: "danger",
            "aria-label": `Delete ${m.id}`}, "Delete");
          F.onClick(remove, async () => {
            if (!window.confirm(`Delete model ${m.id} on the provider? It cannot be undone.`)) return;
            await F.api(`/v1/models/${enc(m.id)}`, {method: "DELETE"});
            F.notice(`Deleted ${m.id}.`);
            await load();
          });
          return [code(m.id), m.base_model, F.jobLink(jobs, m.job_id),
            when(m.created), h("span", {}, link(`#/playground?model=${enc(m.id)}`, "Chat"), " ", remove)];
        }), {id: "models-table"}) : h("p", {}, "No fine-tuned models yet."));
      for (const [i, m] of models.entries()) {
        box.querySelectorAll("#models-table tbody tr")[i].dataset.id = m.id;
      }
    };
    root.append(h("h2", {}, "Models"), box);
    await load();
  }

  // One side of the comparison: its model, its conversation, its streamed answers.
  function pane(side, title, model) {
    const input = h("input", {id: `chat-model-${side}`, type: "text", list: "chat-models", value: model});
    const transcript = h("div", {class: "transcript", id: `chat-transcript-${side}`, role: "log",
      "aria-live": "polite", "aria-label": `Conversation with the ${title.toLowerCase()}`});
    const el = h("section", {class: "pane", "data-side": side},
      field(title, input, "empty to leave this side out"), transcript);
    let history = [];
    const bubble = (role, text) => {
      const content = h("span", {class: "content"}, text);
      const message = h("div", {class: `message ${role}`}, h("strong", {}, `${role}: `), content);
      transcript.append(message);
      return message;
    };
    async function ask(text, settings, signal) {
      if (!input.value.trim()) return;
      history.push({role: "user", content: text});
      bubble("user", text);
      const message = bubble("assistant", "");
      const answer = message.querySelector(".content");
      const usage = h("small", {class: "usage"}, "waiting…");
      message.append(usage);
      message.setAttribute("aria-busy", "true");
      const messages = settings.system ? [{role: "system", content: settings.system}, ...history] : history;
      const started = performance.now();
      let first = null;
      let reply = "";
      let tokens = null;
      try {
        const response = await F.request("/v1/chat/completions", {method: "POST", signal,
          accept: "text/event-stream", json: {model: input.value.trim(), messages, stream: true,
            temperature: settings.temperature, max_tokens: settings.maxTokens,
            stream_options: {include_usage: true}}});
        for await (const frame of F.sseFrames(response.body)) {
          if (frame.data === "[DONE]") break;
          const chunk = JSON.parse(frame.data);
          if (chunk.error) throw new F.ApiError(0, chunk.error.code, chunk.error.message);
          if (chunk.usage) tokens = chunk.usage;
          const delta = chunk.choices && chunk.choices[0] && chunk.choices[0].delta;
          if (delta && delta.content) {
            if (first == null) first = performance.now() - started;
            reply += delta.content;
            answer.textContent = reply;
          }
        }
        history.push({role: "assistant", content: reply});
      } catch (error) {
        if (error.name === "AbortError" && reply) {
          history.push({role: "assistant", content: reply});
        } else {
          history.pop(); // the question was not answered: leave it out of the next request
          answer.textContent = reply ? `${reply} [broken off]` : "[no answer]";
          throw error;
        }
      } finally {
        message.removeAttribute("aria-busy");
        const seconds = ((performance.now() - started) / 1000).toFixed(2);
        const firstText = first == null ? "" : `, first token after ${(first / 1000).toFixed(2)} s`;
        usage.textContent = (tokens ? `${int(tokens.prompt_tokens)} prompt + `
          + `${int(tokens.completion_tokens)} completion tokens · ` : "")
          + `${seconds} s${firstText}`;
        usage.dataset.promptTokens = tokens ? tokens.prompt_tokens : "";
        usage.dataset.completionTokens = tokens ? tokens.completion_tokens : "";
      }
    }
    const clear = () => { history = []; transcript.replaceChildren(); };
    return {el, ask, clear};
  }

  async function playgroundView(root, query) {
    const {signal} = F.state.leaving;
    const params = new URLSearchParams(query || "");
    const {tuned, bases: configured} = await projectModels();
    const chosen = tuned.find((m) => m.id === params.get("model")) || tuned[0];
    const right = chosen ? chosen.id : (params.get("model") || "");
    const preferred = configured.includes(F.DEFAULT_MODEL) || !configured.length
      ? [F.DEFAULT_MODEL] : [];
    const bases = [...new Set([...preferred, ...configured,
      ...tuned.map((m) => m.base_model).filter(Boolean)])];
    const left = (chosen && chosen.base_model) || bases[0];
    const panes = [pane("base", "Base model", left), pane("tuned", "Fine-tuned model", right)];
    const system = h("textarea", {id: "chat-system", rows: 2});
    const temperature = h("input", {id: "chat-temperature", type: "number", min: 0, max: 2,
      step: 0.1, value: 1});
    const maxTokens = h("input", {id: "chat-max-tokens", type: "number", min: 1, step: 1, value: 256});
    const message = h("textarea", {id: "chat-message", rows: 3, required: true});
    const stop = h("button", {type: "button", disabled: true}, "Stop");
    const clear = h("button", {type: "button"}, "Clear conversation");
    const form = h("form", {class: "panel", "aria-label": "Chat"},
      h("datalist", {id: "chat-models"}, options([...tuned.map((m) => m.id), ...bases].map((m) => [m, m]))),
      field("System message", system, "optional, sent to both models"),
      h("div", {class: "row"}, field("Temperature", temperature), field("Max tokens", maxTokens)),
      h("div", {class: "side-by-side"}, panes.map((p) => p.el)),
      field("Message", message, "Ctrl+Enter sends"),
      h("button", {type: "submit"}, "Send"), " ", stop, " ", clear);
    let controller = null;
    message.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) form.requestSubmit();
    });
    stop.addEventListener("click", () => controller && controller.abort());
    signal.addEventListener("abort", () => controller && controller.abort());
    clear.addEventListener("click", () => panes.forEach((p) => p.clear()));
    F.onSubmit(form, async () => {
      const text = message.value.trim();
      if (!text) return;
      message.value = "";
      controller = new AbortController();
      stop.disabled = false;
      const settings = {system: system.value.trim(), temperature: Number(temperature.value),
        maxTokens: Number(maxTokens.value) || undefined};
      try {
        const answers = await Promise.allSettled(panes.map((p) => p.ask(text, settings, controller.signal)));
        const failed = answers.find((a) => a.status === "rejected");
        if (failed) throw failed.reason;
      } finally {
        stop.disabled = true;
        controller = null;
      }
    });
    root.append(h("h2", {}, "Playground"), form);
  }

  F.routes.push([/^#\/models$/, modelsView], [/^#\/playground(?:\?(.*))?$/, playgroundView]);
})();
