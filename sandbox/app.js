// The sandbox page: one chat per demo persona, each acting as that Telegram user through the
// stand-in's control API (/_standin/...). Plain JavaScript, no build step, no network beyond
// this page's own origin.
"use strict";

const API = "/_standin";
const POLL_SECONDS = 25;
const RETRY_MS = 1000;
const TOAST_MS = 4000;

const UI = {
  zh: {
    notice: "本机沙盒：机器人连接的是本地的 Telegram 替身，不会联系 Telegram。",
    send: "发送", cancel: "取消", pick_user: "选择要分享的用户", edited: "已编辑",
    placeholder: "输入消息或 /命令", entrepreneur: "企业家", official: "官员", admin: "管理员",
    offline: "与沙盒的连接中断，正在重试…", failed: "未发送：", file: "文件",
    shared: "分享了用户：", commands: "命令", empty: "还没有消息。点这里开始：",
  },
  en: {
    notice: "Local sandbox: the bot talks to a local Telegram stand-in and never contacts Telegram.",
    send: "Send", cancel: "Cancel", pick_user: "Choose a user to share", edited: "edited",
    placeholder: "Message or /command", entrepreneur: "Entrepreneur", official: "Official",
    admin: "Admin", offline: "Lost the sandbox connection, retrying…", failed: "Not sent: ",
    file: "file", shared: "Shared a user: ", commands: "Commands",
    empty: "No messages yet. Start here:",
  },
};
const PAGE_LANG = (navigator.language || "zh").toLowerCase().startsWith("zh") ? "zh" : "en";
const t = (key) => UI[PAGE_LANG][key] || UI.zh[key] || key;

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
  };
  const response = await fetch(API + path, options);
  const data = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(data.error || response.statusText);
  return data;
}

function element(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function readAsBase64(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).split(",", 2)[1] || "");
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

// -- one chat --------------------------------------------------------------------------------

class ChatPanel {
  constructor(persona, root, personas) {
    this.persona = persona;
    this.personas = personas;
    this.root = root;
    this.version = 0;
    this.nodes = new Map();
    this.list = root.querySelector(".messages");
    this.keyboard = root.querySelector(".keyboard");
    this.commandsBox = root.querySelector(".commands");
    this.toastBox = root.querySelector(".toast");
    this.input = root.querySelector(".text");
    this.commands = [];
    this.replyKeyboard = null;
    this.setUp();
  }

  get id() { return this.persona.telegram_id; }

  setUp() {
    const p = this.persona;
    this.root.dataset.user = String(p.telegram_id);
    this.root.dataset.role = p.role;
    this.root.id = `chat-${p.telegram_id}`;
    this.root.querySelector(".avatar").textContent = p.first_name.slice(0, 1);
    this.root.querySelector(".name").textContent = PAGE_LANG === "zh" ? p.label_zh : p.label_en;
    this.root.querySelector(".role").textContent = `${t(p.role)} · id ${p.telegram_id}`;
    this.input.placeholder = t("placeholder");
    this.root.querySelector(".send").textContent = t("send");
    this.root.querySelector(".empty span").textContent = t("empty");
    this.root.querySelector(".empty .start").addEventListener("click", () => this.sendText("/start"));
    this.root.querySelector(".composer").addEventListener("submit", (event) => {
      event.preventDefault();
      this.sendText(this.input.value);
    });
    this.root.querySelector(".commands-toggle").addEventListener("click", () => {
      this.commandsBox.hidden = !this.commandsBox.hidden || this.commands.length === 0;
    });
    this.root.querySelector(".file").addEventListener("change", (event) => this.sendFile(event));
    for (const button of this.root.querySelectorAll(".lang button")) {
      button.addEventListener("click", () => this.setLanguage(button.dataset.lang));
    }
  }

  showLanguage(code) {
    const current = (code || "zh-hans").startsWith("en") ? "en" : "zh-hans";
    for (const button of this.root.querySelectorAll(".lang button")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === current));
    }
  }

  async act(body) {
    try {
      return await api(`/users/${this.id}/actions`, body);
    } catch (error) {
      this.toast(t("failed") + error.message);
      return null;
    }
  }

  async sendText(text) {
    text = text.trim();
    if (!text) return;
    this.input.value = "";
    this.commandsBox.hidden = true;
    await this.act({ action: "send_text", text });
  }

  async sendFile(event) {
    const file = event.target.files[0];
    event.target.value = "";
    if (!file) return;
    const data_base64 = await readAsBase64(file);
    const caption = this.input.value.trim() || undefined;
    this.input.value = "";
    if (file.type.startsWith("image/")) {
      await this.act({ action: "send_photo", data_base64, caption });
    } else {
      await this.act({ action: "send_document", data_base64, filename: file.name, caption });
    }
  }

  async setLanguage(code) {
    const answer = await this.act({ action: "set_language", language_code: code });
    if (answer) this.showLanguage(answer.user.language_code);
  }

  async press(messageId, data) {
    const answer = await this.act({ action: "press", message_id: messageId, callback_data: data });
    if (!answer) return;
    const reply = await api(`/callbacks/${answer.result}?timeout=5`).catch(() => null);
    const text = reply && reply.answer && reply.answer.text;
    if (text) this.toast(text, reply.answer.show_alert);
  }

  toast(text, alert = false) {
    this.toastBox.textContent = text;
    this.toastBox.classList.toggle("alert", Boolean(alert));
    this.toastBox.hidden = false;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { this.toastBox.hidden = true; }, TOAST_MS);
  }

  // -- long polling -------------------------------------------------------------------------

  async poll() {
    for (;;) {
      try {
        const view = await api(`/chats/${this.id}/view?since=${this.version}&timeout=${POLL_SECONDS}`);
        this.root.classList.remove("offline");
        this.apply(view);
      } catch (error) {
        this.root.classList.add("offline");
        this.toast(t("offline"));
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
      }
    }
  }

  apply(view) {
    const stick = this.list.scrollHeight - this.list.scrollTop - this.list.clientHeight < 40;
    for (const message of view.messages) this.render(message);
    this.version = view.version;
    this.renderKeyboard(view.reply_keyboard);
    this.renderCommands(view.commands || []);
    if (stick || view.messages.some((m) => !m.edited)) {
      this.list.scrollTop = this.list.scrollHeight;
    }
  }

  // -- messages -----------------------------------------------------------------------------

  render(message) {
    const old = this.nodes.get(message.message_id);
    if (message.deleted) {
      if (old) old.remove();
      this.nodes.delete(message.message_id);
      return;
    }
    const node = this.messageNode(message);
    if (old) old.replaceWith(node); else this.list.append(node);
    const empty = this.list.querySelector(".empty");
    if (empty) empty.remove();
    this.nodes.set(message.message_id, node);
  }

  messageNode(message) {
    const item = element("li", `message ${message.from_bot ? "bot" : "user"}`);
    item.dataset.messageId = String(message.message_id);
    const bubble = element("div", "bubble");
    if (message.photo) {
      const image = element("img", "photo");
      image.src = message.photo;
      image.alt = "";
      image.loading = "lazy";
      bubble.append(image);
    }
    if (message.document) {
      const link = element("a", "document", `📄 ${message.document.filename || t("file")}`);
      link.href = message.document.url;
      link.download = message.document.filename || "";
      bubble.append(link);
    }
    if (message.sticker !== undefined) bubble.append(element("div", "sticker", message.sticker));
    if (message.shared_users) {
      bubble.append(element("div", "service", t("shared") + message.shared_users.join(", ")));
    }
    if (message.html) {
      const text = element("div", "text");
      text.innerHTML = message.html; // safe: the stand-in escapes text and keeps only formatting
      for (const spoiler of text.querySelectorAll(".tg-spoiler")) {
        spoiler.addEventListener("click", () => spoiler.classList.toggle("revealed"));
      }
      for (const link of text.querySelectorAll("a")) {
        link.target = "_blank";
        link.rel = "noopener noreferrer";
      }
      bubble.append(text);
    }
    if (message.edited) bubble.append(element("span", "edited", t("edited")));
    item.append(bubble);
    const inline = message.reply_markup && message.reply_markup.inline_keyboard;
    if (inline) item.append(this.inlineKeyboard(message.message_id, inline));
    return item;
  }

  inlineKeyboard(messageId, rows) {
    const box = element("div", "inline-keyboard");
    for (const row of rows) {
      const line = element("div", "row");
      for (const button of row) line.append(this.inlineButton(messageId, button));
      box.append(line);
    }
    return box;
  }

  inlineButton(messageId, button) {
    if (button.url) {
      const link = element("a", "button", `${button.text} ↗`);
      link.href = button.url;
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      return link;
    }
    const node = element("button", "button", button.text);
    node.type = "button";
    if (button.callback_data === undefined) {
      node.disabled = true;
    } else {
      node.addEventListener("click", () => this.press(messageId, button.callback_data));
    }
    return node;
  }

  // -- reply keyboard and command menu ------------------------------------------------------

  renderKeyboard(markup) {
    if (JSON.stringify(markup) === JSON.stringify(this.replyKeyboard)) return;
    this.replyKeyboard = markup;
    this.keyboard.replaceChildren();
    this.keyboard.hidden = !markup;
    if (!markup) return;
    for (const row of markup.keyboard) {
      const line = element("div", "row");
      for (const raw of row) {
        const button = typeof raw === "string" ? { text: raw } : raw;
        const node = element("button", "button", button.text);
        node.type = "button";
        node.addEventListener("click", () => this.keyboardButton(button, markup));
        line.append(node);
      }
      this.keyboard.append(line);
    }
  }

  async keyboardButton(button, markup) {
    if (button.request_users) {
      const userId = await pickUser(this.personas.filter((p) => p.telegram_id !== this.id));
      if (userId === null) return;
      await this.act({
        action: "share_user", request_id: button.request_users.request_id, user_id: userId,
      });
    } else if (button.request_contact || button.request_location || button.web_app) {
      this.toast(button.text);
      return;
    } else {
      await this.sendText(button.text);
    }
    if (markup.one_time_keyboard) this.keyboard.hidden = true;
  }

  renderCommands(commands) {
    if (JSON.stringify(commands) === JSON.stringify(this.commands)) return;
    this.commands = commands;
    this.commandsBox.replaceChildren();
    for (const command of commands) {
      const node = element("button", "command");
      node.type = "button";
      node.append(element("b", "", `/${command.command}`), ` ${command.description}`);
      node.addEventListener("click", () => this.sendText(`/${command.command}`));
      this.commandsBox.append(node);
    }
  }
}

// -- the request_users picker -------------------------------------------------------------

function pickUser(candidates) {
  const dialog = document.getElementById("picker");
  const list = dialog.querySelector(".picker-list");
  list.replaceChildren();
  return new Promise((resolve) => {
    let chosen = null;
    for (const persona of candidates) {
      const button = element("button", "button", PAGE_LANG === "zh" ? persona.label_zh : persona.label_en);
      button.type = "button";
      button.dataset.user = String(persona.telegram_id);
      button.addEventListener("click", () => { chosen = persona.telegram_id; dialog.close(); });
      list.append(button);
    }
    dialog.addEventListener("close", () => resolve(chosen), { once: true });
    dialog.showModal();
  });
}

// -- the page -----------------------------------------------------------------------------

function select(panels, id) {
  for (const panel of panels) {
    const active = panel.id === id;
    panel.root.classList.toggle("active", active);
    const tab = document.getElementById(`tab-${panel.id}`);
    tab.setAttribute("aria-selected", String(active));
  }
}

// Telegram's verification mark the bot gave an account (verifyUser), next to its name.
const MARK_POLL_MS = 3000;

function showMarks(users) {
  for (const user of users) {
    const root = document.getElementById(`chat-${user.id}`);
    if (!root) continue;
    const name = root.querySelector(".name");
    let mark = root.querySelector(".verified-mark");
    if (!user.verified && user.verified !== "") { if (mark) mark.remove(); continue; }
    if (!mark) {
      mark = element("span", "verified-mark", "✔");
      name.after(mark);
    }
    mark.title = user.verified;
    mark.dataset.description = user.verified;
    mark.textContent = `✔ ${user.verified}`;
  }
}

async function main() {
  document.documentElement.lang = PAGE_LANG === "zh" ? "zh-Hans" : "en";
  for (const node of document.querySelectorAll("[data-text]")) node.textContent = t(node.dataset.text);
  const { personas } = await fetch("/sandbox/personas").then((r) => r.json());
  const { users } = await api("/users");
  const languages = new Map(users.map((u) => [u.id, u.language_code]));
  const template = document.getElementById("chat-template");
  const tabs = document.getElementById("tabs");
  const panels = [];
  for (const persona of personas) {
    const root = template.content.firstElementChild.cloneNode(true);
    document.getElementById("chats").append(root);
    const panel = new ChatPanel(persona, root, personas);
    panel.showLanguage(languages.get(persona.telegram_id));
    panels.push(panel);
    const tab = element("button", "tab");
    tab.append(element("span", "tab-name", persona.first_name), element("span", "tab-role", t(persona.role)));
    tab.title = PAGE_LANG === "zh" ? persona.label_zh : persona.label_en;
    tab.type = "button";
    tab.id = `tab-${persona.telegram_id}`;
    tab.setAttribute("role", "tab");
    tab.addEventListener("click", () => select(panels, persona.telegram_id));
    tabs.append(tab);
  }
  select(panels, personas[0].telegram_id);
  for (const panel of panels) panel.poll();
  showMarks(users);
  setInterval(async () => showMarks((await api("/users")).users), MARK_POLL_MS);
  document.body.dataset.ready = "true";
}

main();
