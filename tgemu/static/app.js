// qingshou web chat: each person's private chat with the bot, as Telegram shows it.
//
// Talks only to the emulator's control API on the same origin. Bot messages arrive as
// server-sent events (GET /control/events). Message HTML is never assigned with innerHTML: it is
// parsed in an inert document and rebuilt element by element, keeping only Telegram's tags.
'use strict';

(() => {
  // -- small helpers ----------------------------------------------------------------------

  const $ = (selector, root = document) => root.querySelector(selector);

  function el(tag, props = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props)) {
      if (value === undefined || value === null || value === false) continue;
      if (key === 'class') node.className = value;
      else if (key === 'text') node.textContent = value;
      else if (key.startsWith('on')) node.addEventListener(key.slice(2), value);
      else if (key === 'dataset') Object.assign(node.dataset, value);
      else node.setAttribute(key, value === true ? '' : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      node.append(child instanceof Node ? child : document.createTextNode(String(child)));
    }
    return node;
  }

  // Line icons (no emoji font needed): each is a list of SVG path data on a 24×24 grid.
  const ICONS = {
    beside: ['M3.5 5h17v14h-17z', 'M12 5v14'],
    download: ['M12 4v11', 'M7 10.5l5 5 5-5', 'M5 19.5h14'],
    pin: ['M12 21.5s6.5-7.2 6.5-12a6.5 6.5 0 0 0-13 0c0 4.8 6.5 12 6.5 12z',
      'M12 7.2a2.3 2.3 0 1 0 0 4.6a2.3 2.3 0 1 0 0-4.6z'],
  };

  function icon(name) {
    const ns = 'http://www.w3.org/2000/svg';
    const svg = document.createElementNS(ns, 'svg');
    svg.setAttribute('viewBox', '0 0 24 24');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    for (const d of ICONS[name]) {
      const path = document.createElementNS(ns, 'path');
      path.setAttribute('d', d);
      svg.append(path);
    }
    return svg;
  }

  class Refusal extends Error {
    constructor(status, message) {
      super(message);
      this.status = status;
    }
  }

  async function api(method, path, body) {
    // X-Webchat: the emulator refuses control writes without it (no other origin can add it).
    const options = { method, headers: { 'x-webchat': '1' } };
    if (body instanceof FormData) {
      options.body = body;
    } else if (body !== undefined) {
      options.headers['content-type'] = 'application/json';
      options.body = JSON.stringify(body);
    }
    let response;
    try {
      response = await fetch(path, options);
    } catch (error) {
      throw new Refusal(0, 'the emulator is not reachable (is the sandbox still running?)');
    }
    let data = null;
    try {
      data = await response.json();
    } catch (error) {
      data = null;
    }
    if (!response.ok) {
      const reason = data && (data.error || data.description);
      throw new Refusal(response.status, reason || `${response.status} ${response.statusText}`);
    }
    return data;
  }

  const COLORS = ['#e17076', '#7bc862', '#65aadd', '#a695e7', '#ee7aae', '#6ec9cb', '#faa774'];
  const colorOf = (id) => COLORS[Math.abs(Number(id)) % COLORS.length];
  const fullName = (user) => [user.first_name, user.last_name].filter(Boolean).join(' ');
  const initials = (user) =>
    ((user.first_name || '?')[0] + ((user.last_name || '')[0] || '')).toUpperCase();

  function formatBytes(size) {
    if (size === undefined || size === null) return '';
    if (size < 1024) return `${size} B`;
    if (size < 1024 * 1024) return `${(size / 1024).toFixed(1)} KB`;
    return `${(size / 1024 / 1024).toFixed(1)} MB`;
  }

  // The same words the emulator uses when it refuses an upload (tgemu/core.py).
  function fileTooBig(size, limit) {
    const mib = 1024 * 1024;
    const limitText = Number.isInteger(limit / mib) ? limit / mib : +(limit / mib).toPrecision(6);
    return `file is too big (${(size / mib).toFixed(1)} MB): ` +
      `the sandbox takes uploads up to ${limitText} MB ` +
      '(Telegram apps send up to 2 GB, but a bot can download only 20 MB)';
  }

  // -- safe rendering of Telegram HTML ---------------------------------------------------

  const TAGS = {
    B: 'b', STRONG: 'b', I: 'i', EM: 'i', U: 'u', INS: 'u', S: 's', STRIKE: 's', DEL: 's',
    CODE: 'code', PRE: 'pre', A: 'a', BLOCKQUOTE: 'blockquote', 'TG-SPOILER': 'spoiler',
    'TG-EMOJI': 'emoji', SPAN: 'span',
  };
  const LINK_SCHEMES = ['http:', 'https:', 'mailto:', 'tel:'];

  function safeHref(raw) {
    if (!raw) return null;
    try {
      const url = new URL(raw, 'https://invalid.invalid/');
      return LINK_SCHEMES.includes(url.protocol) ? url.href : null;
    } catch (error) {
      return null;
    }
  }

  function rebuild(source, target) {
    for (const node of source.childNodes) {
      if (node.nodeType === Node.TEXT_NODE) {
        target.append(document.createTextNode(node.nodeValue));
        continue;
      }
      if (node.nodeType !== Node.ELEMENT_NODE) continue; // comments and the like: dropped
      const kind = TAGS[node.tagName];
      let out;
      if (kind === 'spoiler' || (kind === 'span' && node.classList.contains('tg-spoiler'))) {
        out = el('span', { class: 'spoiler', title: 'Spoiler: click to show' });
        out.addEventListener('click', () => out.classList.add('revealed'));
      } else if (kind === 'a') {
        const href = safeHref(node.getAttribute('href'));
        const raw = node.getAttribute('href') || '';
        if (href) {
          out = el('a', { href, target: '_blank', rel: 'noopener noreferrer' });
        } else if (raw.startsWith('tg://user?id=')) {
          out = el('span', { class: 'mention' });
        } else {
          out = el('span');
        }
      } else if (kind === 'code') {
        out = el('code');
        const cls = node.getAttribute('class') || '';
        if (/^language-[\w+#-]{1,32}$/.test(cls)) out.className = cls;
      } else if (kind === 'blockquote') {
        out = el('blockquote', { class: node.hasAttribute('expandable') ? 'expandable' : null });
        // As Telegram's apps: an expandable quote shows its first lines; a tap opens it.
        if (node.hasAttribute('expandable')) {
          const quote = out;
          quote.addEventListener('click', () => quote.classList.toggle('open'));
        }
      } else if (kind === 'emoji' || kind === 'span' || kind === undefined) {
        rebuild(node, target); // keep the text, drop the element
        continue;
      } else {
        out = document.createElement(kind);
      }
      rebuild(node, out);
      target.append(out);
    }
  }

  /** A fragment showing Telegram HTML: only Telegram's tags survive, everything else is text. */
  function telegramHtml(html) {
    const inert = new DOMParser().parseFromString(`<!doctype html><body>${html}`, 'text/html');
    const fragment = document.createDocumentFragment();
    rebuild(inert.body, fragment);
    return fragment;
  }

  // Entities Telegram apps make tappable although the HTML rendering leaves them as text.
  const AUTO_ENTITIES = ['url', 'bot_command', 'mention', 'email'];

  function autoLink(type, value) {
    if (type === 'url') {
      const href = safeHref(/^[a-z][\w+.-]*:/i.test(value) ? value : `https://${value}`);
      return href ? el('a', { href, target: '_blank', rel: 'noopener noreferrer' }) : null;
    }
    if (type === 'email') return el('a', { href: `mailto:${value}` });
    if (type === 'bot_command') {
      return el('a', { href: '#', class: 'bot-command', dataset: { command: value } });
    }
    return el('span', { class: 'mention' });
  }

  /**
   * Wrap the url, command, mention and e-mail entities of ``message`` in the rendered text.
   * Offsets are UTF-16 code units, as in JavaScript strings; if the rendered text is not the
   * message text (it always should be) nothing is wrapped.
   */
  function linkEntities(container, text, entities) {
    if (!entities || !text || container.textContent !== text) return;
    const wanted = entities.filter((e) => AUTO_ENTITIES.includes(e.type))
      .sort((a, b) => b.offset - a.offset); // from the end: earlier offsets stay valid
    for (const entity of wanted) {
      const start = entity.offset;
      const end = entity.offset + entity.length;
      const walker = document.createTreeWalker(container, NodeFilter.SHOW_TEXT);
      let pos = 0;
      let node;
      while ((node = walker.nextNode())) {
        const length = node.nodeValue.length;
        if (pos <= start && end <= pos + length) break;
        pos += length;
      }
      // Only an entity inside one text node that is not already a link or code.
      if (!node || node.parentElement.closest('a, code, pre')) continue;
      const value = text.slice(start, end);
      const wrapper = autoLink(entity.type, value);
      if (!wrapper) continue;
      const middle = node.splitText(start - pos);
      middle.splitText(end - start);
      middle.replaceWith(wrapper);
      wrapper.append(middle);
    }
  }

  // -- application state ------------------------------------------------------------------

  const state = {
    info: null,
    bot: null, // username
    users: new Map(),
    panes: [],
    active: 0,
    clock: null,
    clockSkew: 0,
    events: null,
  };
  const narrow = window.matchMedia('(max-width: 760px)');
  const MAX_PANES = 4;
  const botQuery = () => (state.bot ? `bot=${encodeURIComponent(state.bot)}` : '');
  const fileUrl = (fileId, download) =>
    `/control/files/${encodeURIComponent(fileId)}?${botQuery()}${download ? '&download=1' : ''}`;

  function zoneName() {
    return state.clock ? state.clock.tz : undefined;
  }

  function formatTime(unixSeconds) {
    const options = { hour: '2-digit', minute: '2-digit', hour12: false };
    try {
      return new Intl.DateTimeFormat('en-GB', { ...options, timeZone: zoneName() })
        .format(new Date(unixSeconds * 1000));
    } catch (error) {
      return new Intl.DateTimeFormat('en-GB', options).format(new Date(unixSeconds * 1000));
    }
  }

  function formatDay(unixSeconds) {
    const options = { weekday: 'short', day: 'numeric', month: 'long', year: 'numeric' };
    try {
      return new Intl.DateTimeFormat('en-GB', { ...options, timeZone: zoneName() })
        .format(new Date(unixSeconds * 1000));
    } catch (error) {
      return new Intl.DateTimeFormat('en-GB', options).format(new Date(unixSeconds * 1000));
    }
  }

  // Telegram on a phone: Enter is a new line and the button sends.
  const touch = window.matchMedia('(pointer: coarse)');

  // -- one pane: one person's chat with the bot --------------------------------------------

  class Pane {
    constructor(userId) {
      this.userId = userId;
      this.messages = new Map();
      // {kind: 'message', id, seq} | {kind: 'notice', node, afterSeq}: notices stay where
      // they were shown (after the event seq they followed), even after a reload.
      this.items = [];
      this.generation = 0;
      this.seq = 0;
      this.started = false;
      this.blocked = false;
      this.loading = null;
      this.buffer = [];
      this.typingTimer = null;
      this.hiddenKeyboardFor = null;
      this.keyboardCollapsed = false;
      const root = $('#pane-template').content.firstElementChild.cloneNode(true);
      this.root = root;
      this.list = $('.messages', root);
      this.toasts = $('.toasts', root);
      this.replyKeyboard = $('.reply-keyboard', root);
      this.commandsMenu = $('.commands-menu', root);
      this.input = $('.text-input', root);
      this.composer = $('.composer', root);
      this.fileInput = $('.file-input', root);
      // Pressing a pane's ✕ must not first make it the active pane.
      const activateUnlessClosing = (event) => {
        if (!event.target.closest('.pane-close')) activate(this);
      };
      root.addEventListener('pointerdown', activateUnlessClosing);
      root.addEventListener('focusin', activateUnlessClosing);
      $('.pane-close', root).addEventListener('click', (event) => {
        event.stopPropagation();
        closePane(this);
      });
      this.composer.addEventListener('submit', (event) => {
        event.preventDefault();
        this.sendTyped();
      });
      this.input.addEventListener('keydown', (event) => {
        if (event.key === 'Enter' && !event.shiftKey && !event.isComposing && !touch.matches) {
          event.preventDefault();
          this.sendTyped();
        }
      });
      this.input.addEventListener('input', () => this.autosize());
      $('.attach-button', root).addEventListener('click', () => this.fileInput.click());
      this.fileInput.addEventListener('change', () => {
        const file = this.fileInput.files[0];
        this.fileInput.value = '';
        if (file) this.upload(file);
      });
      $('.location-button', root).addEventListener('click', () => askLocation(this));
      $('.start-button', root).addEventListener('click', () => this.sendText('/start'));
      $('.menu-button', root).addEventListener('click', () => this.toggleCommands());
      $('.keyboard-button', root).addEventListener('click', () => {
        this.keyboardCollapsed = !this.keyboardCollapsed;
        this.hiddenKeyboardFor = null;
        this.renderReplyKeyboard();
      });
    }

    get user() {
      return state.users.get(this.userId) || { id: this.userId, first_name: String(this.userId) };
    }

    setUser(userId) {
      if (userId === this.userId) return;
      this.userId = userId;
      this.messages.clear();
      this.items = [];
      this.seq = 0;
      this.hiddenKeyboardFor = null;
      this.keyboardCollapsed = false;
      this.commandsMenu.hidden = true;
      this.input.value = '';
      this.list.replaceChildren();
      this.renderHeader();
      this.load();
    }

    renderHeader() {
      const user = this.user;
      const avatar = $('.avatar', this.root);
      avatar.textContent = initials(user);
      avatar.style.backgroundColor = colorOf(user.id);
      $('.pane-name', this.root).textContent = fullName(user);
      const sub = $('.pane-sub', this.root);
      sub.classList.remove('typing');
      const bot = state.info && state.info.bot ? state.info.bot.first_name : 'the bot';
      const gone = user.deactivated ? 'deleted account · ' : '';
      sub.textContent = `${gone}${user.label || 'id ' + user.id} · chat with ${bot}`;
      this.root.dataset.user = String(user.id);
      this.root.setAttribute('aria-label', `${fullName(user)}'s chat`);
    }

    load() {
      const userId = this.userId;
      const generation = ++this.generation;
      this.buffer = [];
      const loading = (async () => {
        try {
          const query = botQuery();
          const t = await api('GET', `/control/chats/${userId}/transcript${query ? '?' + query : ''}`);
          // A newer load (or another person) took over meanwhile: this answer is stale.
          if (userId !== this.userId || generation !== this.generation) return;
          this.seq = t.seq;
          this.started = t.started;
          this.blocked = t.blocked;
          this.messages = new Map(t.messages.map((m) => [m.message_id, m]));
          const seqOf = new Map();
          for (const event of t.events) {
            if (event.kind === 'message' && !seqOf.has(event.message.message_id)) {
              seqOf.set(event.message.message_id, event.seq);
            }
          }
          const items = t.messages.map((m) => ({
            kind: 'message', id: m.message_id, seq: seqOf.get(m.message_id) || 0,
          }));
          const notices = this.items.filter((item) => item.kind === 'notice');
          // Stable merge: a notice goes after the last message at or before its seq.
          this.items = [...items, ...notices].sort((a, b) => this.itemKey(a) - this.itemKey(b));
          this.renderAll();
        } catch (error) {
          if (generation === this.generation) {
            this.notice(`Cannot load the chat: ${error.message}`, 'error');
          }
        }
      })();
      this.loading = loading;
      loading.finally(() => {
        if (this.loading !== loading || generation !== this.generation) return;
        this.loading = null;
        const waiting = this.buffer.sort((a, b) => a.seq - b.seq);
        this.buffer = [];
        for (const event of waiting) this.apply(event);
      });
      return loading;
    }

    itemKey(item) {
      return item.kind === 'notice' ? item.afterSeq + 0.5 : item.seq;
    }

    apply(event) {
      if (this.loading) {
        this.buffer.push(event);
        return;
      }
      if (event.seq <= this.seq) return;
      if (event.seq !== this.seq + 1) {
        this.load(); // missed something (reconnect): fetch the whole chat again
        return;
      }
      this.seq = event.seq;
      const stick = this.nearBottom();
      switch (event.kind) {
        case 'message': {
          const message = event.message;
          this.messages.set(message.message_id, message);
          this.items.push({ kind: 'message', id: message.message_id, seq: event.seq });
          this.list.append(this.renderMessage(message));
          this.renderDays();
          this.started = true;
          if (message.from === 'bot') this.stopTyping();
          this.renderChrome();
          this.scroll(stick || message.from === 'user');
          break;
        }
        case 'edit': {
          const message = event.message;
          this.messages.set(message.message_id, message);
          const old = this.list.querySelector(`[data-mid="${message.message_id}"]`);
          const fresh = this.renderMessage(message);
          if (old) old.replaceWith(fresh);
          this.renderChrome();
          this.scroll(stick);
          break;
        }
        case 'delete': {
          const message = this.messages.get(event.message_id);
          if (message) message.deleted = true;
          const old = this.list.querySelector(`[data-mid="${event.message_id}"]`);
          if (old) old.remove();
          this.renderDays();
          this.renderChrome();
          break;
        }
        case 'callback_answer':
          this.clearPending(event.message_id);
          if (event.text) {
            if (event.show_alert) showAlert(this, event.text);
            else this.toast(event.text);
          }
          break;
        case 'chat_action':
          this.showTyping(event.action);
          break;
        case 'blocked':
          this.blocked = true;
          this.notice('You blocked the bot.', 'info');
          break;
        case 'unblocked':
          this.blocked = false;
          break;
        default:
          break;
      }
    }

    nearBottom() {
      const list = this.list;
      return list.scrollHeight - list.scrollTop - list.clientHeight < 80;
    }

    scroll(force) {
      if (force) this.list.scrollTop = this.list.scrollHeight;
    }

    renderAll() {
      this.renderHeader();
      const nodes = [];
      for (const item of this.items) {
        if (item.kind === 'notice') {
          nodes.push(item.node);
          continue;
        }
        const message = this.messages.get(item.id);
        if (message && !message.deleted) nodes.push(this.renderMessage(message));
      }
      this.list.replaceChildren(...nodes);
      this.renderDays();
      this.renderChrome();
      this.scroll(true);
    }

    // A separator before the first message of each day (the bot's day when there is a clock).
    renderDays() {
      this.list.querySelectorAll('.day-separator').forEach((node) => node.remove());
      let last = null;
      for (const row of this.list.querySelectorAll('.row[data-mid]')) {
        const message = this.messages.get(Number(row.dataset.mid));
        if (!message) continue;
        const day = formatDay(message.date);
        if (day !== last) {
          row.before(el('div', { class: 'day-separator', role: 'separator' },
            el('span', { text: day })));
          last = day;
        }
      }
    }

    renderChrome() {
      const fresh = !this.started && this.messages.size === 0;
      // Telegram shows START in a chat never opened; the composer stays, so that a person who
      // holds an invite can type /start CODE.
      $('.start-bar', this.root).hidden = !fresh;
      this.renderReplyKeyboard();
      loadCommands().then((commands) => {
        $('.menu-button', this.root).hidden = commandsFor(commands, this.user).length === 0;
      });
    }

    // The reply keyboard of the latest bot message that set or removed one.
    currentKeyboard() {
      let current = null;
      const ordered = [...this.messages.values()].sort((a, b) => a.message_id - b.message_id);
      for (const message of ordered) {
        if (message.from !== 'bot' || message.deleted || !message.reply_markup) continue;
        if (message.reply_markup.keyboard) current = message;
        else if (message.reply_markup.remove_keyboard) current = null;
      }
      return current;
    }

    renderReplyKeyboard() {
      const source = this.currentKeyboard();
      const toggle = $('.keyboard-button', this.root);
      toggle.hidden = !source;
      const box = this.replyKeyboard;
      box.replaceChildren();
      const placeholder = source && source.reply_markup.input_field_placeholder;
      this.input.placeholder = placeholder || 'Message';
      const hidden = !source || this.keyboardCollapsed ||
        this.hiddenKeyboardFor === source.message_id;
      box.hidden = hidden;
      if (hidden) return;
      const markup = source.reply_markup;
      for (const row of markup.keyboard) {
        const line = el('div', { class: 'kb-row' });
        for (const raw of row) {
          const button = typeof raw === 'string' ? { text: raw } : raw;
          line.append(el('button', {
            type: 'button',
            class: 'kb-button',
            text: button.text,
            onclick: () => {
              if (markup.one_time_keyboard) this.hiddenKeyboardFor = source.message_id;
              if (button.request_location) askLocation(this);
              else this.sendText(button.text);
              this.renderReplyKeyboard();
            },
          }));
        }
        box.append(line);
      }
    }

    renderMessage(message) {
      const outgoing = message.from === 'user';
      const row = el('div', {
        class: `row ${outgoing ? 'out' : 'in'}`,
        dataset: { mid: String(message.message_id), from: message.from },
      });
      const bubble = el('div', { class: 'bubble' });
      if (message.photo && message.photo.length) {
        const biggest = message.photo[message.photo.length - 1];
        const img = el('img', {
          class: 'photo',
          src: fileUrl(biggest.file_id, false),
          alt: 'photo',
          width: biggest.width,
          height: biggest.height,
          loading: 'lazy',
        });
        bubble.classList.add('media');
        bubble.append(el('a', {
          href: fileUrl(biggest.file_id, true),
          download: 'photo.jpg',
          title: 'Download the photo',
        }, img));
      }
      if (message.document) {
        const doc = message.document;
        bubble.append(el('a', {
          class: 'document',
          href: fileUrl(doc.file_id, true),
          download: doc.file_name || 'file',
          title: 'Download',
        },
        el('span', { class: 'doc-icon' }, icon('download')),
        el('span', { class: 'doc-meta' },
          el('span', { class: 'doc-name', text: doc.file_name || 'file' }),
          el('span', { class: 'doc-size', text: formatBytes(doc.file_size) }))));
      }
      if (message.location) {
        const { latitude, longitude } = message.location;
        bubble.append(el('div', { class: 'location' },
          el('span', { class: 'pin' }, icon('pin')),
          el('span', { text: `${latitude.toFixed(5)}, ${longitude.toFixed(5)}` })));
      }
      const html = message.html !== null && message.html !== undefined ?
        message.html : message.caption_html;
      if (html !== null && html !== undefined) {
        const text = el('div', { class: 'text' });
        text.append(telegramHtml(html));
        if (message.html !== null && message.html !== undefined) {
          linkEntities(text, message.text, message.entities);
        } else {
          linkEntities(text, message.caption, message.caption_entities);
        }
        bubble.append(text);
      }
      const meta = el('span', { class: 'meta' },
        message.edited ? el('span', { class: 'edited', text: 'edited' }) : null,
        el('span', { class: 'time', text: formatTime(message.date) }),
        outgoing ? el('span', { class: 'ticks', text: '✓✓' }) : null);
      bubble.append(meta);
      const column = el('div', { class: 'column' }, bubble);
      if (message.buttons && message.buttons.length) {
        column.append(this.renderInlineKeyboard(message));
      }
      row.append(column);
      return row;
    }

    renderInlineKeyboard(message) {
      const box = el('div', { class: 'inline-keyboard' });
      for (const row of message.buttons) {
        const line = el('div', { class: 'kb-row' });
        for (const button of row) {
          let node;
          const href = safeHref(button.url);
          if (button.callback_data) {
            node = el('button', {
              type: 'button',
              class: 'inline-button',
              text: button.text,
              onclick: () => this.press(message.message_id, button.callback_data, node),
            });
          } else if (href) {
            node = el('a', {
              class: 'inline-button link',
              href,
              target: '_blank',
              rel: 'noopener noreferrer',
              text: button.text,
            });
          } else {
            node = el('button', {
              type: 'button',
              class: 'inline-button',
              text: button.text,
              disabled: true,
              title: 'This kind of button does nothing in the web chat',
            });
          }
          line.append(node);
        }
        box.append(line);
      }
      return box;
    }

    async press(messageId, data, node) {
      node.classList.add('pending');
      setTimeout(() => node.classList.remove('pending'), 15000);
      try {
        await api('POST', `/control/users/${this.userId}/callback`, {
          message_id: messageId, data, bot: state.bot,
        });
      } catch (error) {
        node.classList.remove('pending');
        this.notice(`Button not pressed: ${error.message}`, 'error');
      }
    }

    clearPending(messageId) {
      const row = this.list.querySelector(`[data-mid="${messageId}"]`);
      if (row) row.querySelectorAll('.pending').forEach((b) => b.classList.remove('pending'));
    }

    sendTyped() {
      const text = this.input.value;
      // Cleared at once, so a second Enter cannot send the same text twice.
      this.input.value = '';
      this.autosize();
      this.sendText(text, true);
    }

    async sendText(text, fromInput = false) {
      this.commandsMenu.hidden = true;
      try {
        await api('POST', `/control/users/${this.userId}/message`, { text, bot: state.bot });
      } catch (error) {
        this.refused(text, error.message);
        if (fromInput && !this.input.value) {
          this.input.value = text; // given back to edit, unless something new was typed
          this.autosize();
        }
      }
    }

    async upload(file) {
      const limits = state.info.limits;
      if (file.size > limits.request_max_bytes) {
        // Too big to even send to the emulator: refuse here with the emulator's own words.
        this.refused(`${file.name}`, fileTooBig(file.size, limits.document_max_bytes));
        return;
      }
      const form = new FormData();
      form.append('file', file, file.name);
      if (state.bot) form.append('bot', state.bot);
      const pending = this.notice(`Sending ${file.name} (${formatBytes(file.size)})…`, 'info');
      try {
        await api('POST', `/control/users/${this.userId}/document`, form);
        this.removeNotice(pending);
      } catch (error) {
        this.removeNotice(pending);
        this.refused(`${file.name}`, error.message);
      }
    }

    async sendLocation(latitude, longitude) {
      try {
        await api('POST', `/control/users/${this.userId}/location`, {
          latitude, longitude, bot: state.bot,
        });
      } catch (error) {
        this.refused(`location ${latitude}, ${longitude}`, error.message);
      }
    }

    // A message Telegram would not send: shown in the chat, with the reason.
    refused(what, reason) {
      const preview = what.trim() ? (what.length > 120 ? what.slice(0, 120) + '…' : what) : '';
      const node = el('div', { class: 'row out refused', role: 'alert' },
        el('div', { class: 'column' },
          el('div', { class: 'bubble failed' },
            preview ? el('div', { class: 'text', text: preview }) : null,
            el('div', { class: 'refusal' },
              el('span', { class: 'refusal-icon', text: '!' }),
              el('span', { class: 'refusal-text', text: `Not sent: ${reason}` })))));
      this.items.push({ kind: 'notice', node, afterSeq: this.seq });
      this.list.append(node);
      this.scroll(true);
      return node;
    }

    notice(text, kind) {
      const node = el('div', { class: `notice ${kind}`, text });
      this.items.push({ kind: 'notice', node, afterSeq: this.seq });
      this.list.append(node);
      this.scroll(true);
      return node;
    }

    removeNotice(node) {
      this.items = this.items.filter((item) => item.node !== node);
      node.remove();
    }

    toast(text) {
      const node = el('div', { class: 'toast', role: 'status', text });
      this.toasts.append(node);
      setTimeout(() => node.classList.add('fading'), 2600);
      setTimeout(() => node.remove(), 3200);
    }

    showTyping(action) {
      const sub = $('.pane-sub', this.root);
      const words = {
        typing: 'typing…', upload_photo: 'sending a photo…', upload_document: 'sending a file…',
      };
      sub.textContent = `${(state.info.bot || {}).first_name || 'bot'} is ${words[action] || action + '…'}`;
      sub.classList.add('typing');
      clearTimeout(this.typingTimer);
      this.typingTimer = setTimeout(() => this.stopTyping(), 5000);
    }

    stopTyping() {
      clearTimeout(this.typingTimer);
      this.typingTimer = null;
      this.renderHeader();
    }

    autosize() {
      this.input.style.height = 'auto';
      this.input.style.height = `${Math.min(this.input.scrollHeight, 140)}px`;
    }

    async toggleCommands() {
      const menu = this.commandsMenu;
      if (!menu.hidden) {
        menu.hidden = true;
        return;
      }
      const commands = commandsFor(await loadCommands(true), this.user);
      menu.replaceChildren(...commands.map((c) => el('button', {
        type: 'button',
        class: 'command',
        onclick: () => this.sendText(`/${c.command}`),
      }, el('span', { class: 'command-name', text: `/${c.command}` }),
      el('span', { class: 'command-description', text: c.description }))));
      menu.hidden = commands.length === 0;
    }
  }

  // -- commands menu (setMyCommands) --------------------------------------------------------

  let commandsCache = null;

  async function loadCommands(refresh = false) {
    if (!state.bot) return [];
    if (commandsCache && !refresh) return commandsCache;
    commandsCache = api('GET', `/control/bot?${botQuery()}`)
      .then((bot) => bot.commands || [])
      .catch(() => []);
    return commandsCache;
  }

  function commandsFor(entries, user) {
    const lang = (user.language_code || '').split('-')[0];
    const scopes = [
      (s) => s.type === 'chat' && Number(s.chat_id) === user.id,
      (s) => s.type === 'all_private_chats',
      (s) => s.type === 'default',
    ];
    for (const matches of scopes) {
      const inScope = entries.filter((e) => matches(e.scope || { type: 'default' }));
      const chosen = inScope.find((e) => e.language_code === lang) ||
        inScope.find((e) => !e.language_code);
      if (chosen) return chosen.commands;
    }
    return [];
  }

  // -- panes ----------------------------------------------------------------------------

  function activate(pane) {
    const index = state.panes.indexOf(pane);
    if (index < 0 || index === state.active) return;
    state.active = index;
    layout();
  }

  function openPane(userId, beside) {
    const existing = state.panes.findIndex((p) => p.userId === userId);
    if (existing >= 0) {
      state.active = existing;
    } else if (beside && state.panes.length < MAX_PANES && !narrow.matches) {
      const pane = new Pane(userId);
      state.panes.push(pane);
      $('#panes').append(pane.root);
      pane.renderHeader();
      pane.load();
      state.active = state.panes.length - 1;
    } else if (state.panes.length) {
      state.panes[state.active].setUser(userId);
    } else {
      const pane = new Pane(userId);
      state.panes.push(pane);
      $('#panes').append(pane.root);
      pane.renderHeader();
      pane.load();
      state.active = 0;
    }
    layout();
    if (narrow.matches) document.body.classList.remove('sidebar-open');
  }

  function closePane(pane) {
    if (state.panes.length <= 1) return;
    const index = state.panes.indexOf(pane);
    state.panes.splice(index, 1);
    pane.root.remove();
    // Closing a pane left of the active one shifts the active one left.
    if (index < state.active) state.active -= 1;
    state.active = Math.min(state.active, state.panes.length - 1);
    layout();
  }

  function layout() {
    state.panes.forEach((pane, i) => {
      pane.root.classList.toggle('active', i === state.active);
      $('.pane-close', pane.root).hidden = state.panes.length <= 1;
    });
    $('#panes').dataset.count = String(state.panes.length);
    $('#empty').hidden = state.panes.length > 0;
    renderPeople();
    const ids = state.panes.map((p) => p.userId).join(',');
    history.replaceState(null, '', `#p=${ids}&a=${state.active}`);
  }

  function renderPeople() {
    const activeUser = state.panes[state.active] ? state.panes[state.active].userId : null;
    const open = new Set(state.panes.map((p) => p.userId));
    const items = [...state.users.values()].map((user) => {
      const avatar = el('span', { class: 'avatar small', text: initials(user) });
      avatar.style.backgroundColor = colorOf(user.id);
      return el('li', { class: `person${user.id === activeUser ? ' current' : ''}` },
        el('button', {
          type: 'button',
          class: 'person-button',
          dataset: { user: String(user.id) },
          'aria-label': `Be ${fullName(user)}`,
          onclick: () => openPane(user.id, false),
        }, avatar,
        el('span', { class: 'person-text' },
          el('span', { class: 'person-name', text: fullName(user) }),
          el('span', { class: 'person-label', text: user.label || `id ${user.id}` }))),
        el('button', {
          type: 'button',
          class: 'icon-button beside-button only-wide',
          title: 'Open beside the others',
          'aria-label': `Open ${fullName(user)} beside`,
          disabled: open.has(user.id) || state.panes.length >= MAX_PANES,
          onclick: () => openPane(user.id, true),
        }, icon('beside')));
    });
    $('#people').replaceChildren(...items);
    const switcher = $('#switcher');
    switcher.replaceChildren(...[...state.users.values()].map((user) => el('option', {
      value: String(user.id),
      selected: user.id === activeUser,
      text: user.label ? `${fullName(user)} — ${user.label}` : fullName(user),
    })));
  }

  // -- dialogs --------------------------------------------------------------------------

  function showAlert(pane, text) {
    $('#alert-from').textContent = `${fullName(pane.user)} · ${(state.info.bot || {}).first_name || 'bot'}`;
    $('#alert-text').textContent = text;
    const dialog = $('#alert');
    if (!dialog.open) dialog.showModal();
  }

  let locationPane = null;

  function askLocation(pane) {
    locationPane = pane;
    $('#location-dialog').showModal();
  }

  // -- the clock ------------------------------------------------------------------------

  async function loadClock() {
    try {
      state.clock = await api('GET', '/control/clock');
    } catch (error) {
      state.clock = null;
    }
    const section = $('#clock');
    section.hidden = !state.clock;
    if (!state.clock) return;
    state.clockSkew = Date.parse(state.clock.now) - Date.now();
    $('#clock-tz').textContent = state.clock.tz;
    const tomorrow = state.clock.tomorrow_0900.slice(0, 16);
    $('#clock-at').value = tomorrow;
    tickClock();
  }

  function tickClock() {
    if (!state.clock) return;
    const now = new Date(Date.now() + state.clockSkew);
    let text;
    try {
      const parts = Object.fromEntries(new Intl.DateTimeFormat('en-GB', {
        timeZone: state.clock.tz, weekday: 'short', year: 'numeric', month: '2-digit',
        day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false,
      }).formatToParts(now).map((p) => [p.type, p.value]));
      text = `${parts.weekday} ${parts.year}-${parts.month}-${parts.day} ` +
        `${parts.hour}:${parts.minute}:${parts.second}`;
    } catch (error) {
      text = now.toISOString();
    }
    $('#clock-now').textContent = text;
  }

  async function moveClock(body) {
    const error = $('#clock-error');
    error.hidden = true;
    try {
      state.clock = await api('POST', '/control/clock', body);
      state.clockSkew = Date.parse(state.clock.now) - Date.now();
      tickClock();
    } catch (refusal) {
      error.textContent = refusal.message;
      error.hidden = false;
    }
  }

  // -- people and events ----------------------------------------------------------------

  async function loadUsers() {
    const users = await api('GET', '/control/users');
    state.users = new Map(users.map((u) => [u.id, u]));
  }

  // The event stream. The emulator subscribes a stream before it answers, so everything
  // loaded after "open" is complete: each (re)open reloads people, clock and every pane, and
  // events arriving while a pane loads wait in its buffer.
  let firstOpen = null;
  const opened = new Promise((resolve) => { firstOpen = resolve; });

  function connectEvents() {
    if (state.events) state.events.close();
    const source = new EventSource('/control/events');
    state.events = source;
    const dispatch = (raw) => {
      if (state.events !== source) return;
      let event;
      try {
        event = JSON.parse(raw.data);
      } catch (error) {
        return;
      }
      if (event.kind === 'user') {
        state.users.set(event.user.id, event.user);
        renderPeople();
        for (const pane of state.panes) {
          if (pane.userId === event.user.id) pane.renderHeader();
        }
        return;
      }
      if (event.kind === 'clock') {
        loadClock().then(() => state.panes.forEach((pane) => pane.renderDays()));
        return;
      }
      if (state.bot && event.bot && event.bot !== state.bot) return;
      for (const pane of state.panes) {
        if (pane.userId === event.chat_id) pane.apply(event);
      }
    };
    const kinds = ['message', 'edit', 'delete', 'callback_query', 'callback_answer',
      'chat_action', 'blocked', 'unblocked', 'user', 'clock'];
    for (const kind of kinds) source.addEventListener(kind, dispatch);
    source.addEventListener('open', () => {
      if (state.events !== source) return;
      document.body.classList.remove('offline');
      const people = loadUsers().then(() => {
        renderPeople();
        state.panes.forEach((pane) => pane.renderHeader());
      }).catch(() => {});
      const panes = state.panes.map((pane) => pane.load());
      Promise.all([people, loadClock(), ...panes]).then(() => firstOpen());
    });
    source.addEventListener('error', () => {
      if (state.events !== source) return;
      document.body.classList.add('offline');
      if (source.readyState === EventSource.CLOSED) {
        // The emulator refused the stream (stopping, or an outage): the browser gives up, so
        // the page tries again.
        setTimeout(() => {
          if (state.events === source) connectEvents();
        }, 1000);
      }
    });
  }

  function restoreLayout() {
    const params = new URLSearchParams(location.hash.slice(1));
    const ids = (params.get('p') || '').split(',').map(Number)
      .filter((id) => state.users.has(id));
    const wanted = ids.length ? ids : [...state.users.keys()].slice(0, 1);
    for (const id of wanted.slice(0, narrow.matches ? 1 : MAX_PANES)) {
      const pane = new Pane(id);
      state.panes.push(pane);
      $('#panes').append(pane.root);
      pane.renderHeader();
    }
    const active = Number(params.get('a') || 0);
    state.active = active >= 0 && active < state.panes.length ? active : 0;
  }

  async function main() {
    const params = new URLSearchParams(location.search);
    state.info = await api('GET', `/control/webchat${params.get('bot') ? '?bot=' + encodeURIComponent(params.get('bot')) : ''}`);
    state.bot = state.info.bot ? state.info.bot.username : null;
    $('#bot-name').textContent = state.info.bot ?
      `${state.info.bot.first_name} · @${state.info.bot.username}` : 'no bot registered yet';
    await loadClock();
    await loadUsers();
    restoreLayout();
    layout();
    connectEvents(); // the panes load once the stream is open
    await opened;
    document.body.classList.add('ready');
    setInterval(tickClock, 1000);
  }

  function wireStatic() {
    const closeDrawer = () => document.body.classList.remove('sidebar-open');
    $('#open-sidebar').addEventListener('click', () => document.body.classList.add('sidebar-open'));
    $('#close-sidebar').addEventListener('click', closeDrawer);
    $('#backdrop').addEventListener('click', closeDrawer);
    document.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && document.body.classList.contains('sidebar-open')) {
        closeDrawer();
      }
    });
    $('#switcher').addEventListener('change', (event) => openPane(Number(event.target.value), false));
    document.querySelectorAll('[data-preset]').forEach((button) => {
      button.addEventListener('click', () => moveClock({ preset: button.dataset.preset }));
    });
    $('#clock-form').addEventListener('submit', (event) => {
      event.preventDefault();
      moveClock({ at: $('#clock-at').value });
    });
    $('#new-person').addEventListener('submit', async (event) => {
      event.preventDefault();
      const name = $('#new-name').value.trim();
      const count = [...state.users.values()].filter((u) => !u.label).length + 1;
      const [first, ...rest] = (name || `New person ${count}`).split(/\s+/);
      try {
        const user = await api('POST', '/control/users', {
          first_name: first,
          last_name: rest.join(' ') || null,
          language_code: $('#new-lang').value,
          label: 'new person · stranger at start',
        });
        state.users.set(user.id, user);
        $('#new-name').value = '';
        openPane(user.id, !narrow.matches);
      } catch (error) {
        alert(error.message);
      }
    });
    $('#alert-ok').addEventListener('click', () => $('#alert').close());
    $('#loc-cancel').addEventListener('click', () => $('#location-dialog').close());
    $('#location-form').addEventListener('submit', (event) => {
      event.preventDefault();
      const lat = Number($('#loc-lat').value);
      const lon = Number($('#loc-lon').value);
      $('#location-dialog').close();
      if (locationPane) locationPane.sendLocation(lat, lon);
    });
    narrow.addEventListener('change', layout);
    // Taps on what Telegram makes tappable. A command sends itself; a Telegram link never
    // leaves the machine: t.me/<this bot>?start=CODE sends "/start CODE" as the person whose
    // chat shows it, exactly what Telegram's START button does after such a link.
    document.addEventListener('click', (event) => {
      const link = event.target.closest && event.target.closest('.messages a');
      if (!link) return;
      const pane = state.panes.find((p) => p.root.contains(link));
      if (link.classList.contains('bot-command')) {
        event.preventDefault();
        if (pane) pane.sendText(link.dataset.command);
        return;
      }
      let url;
      try {
        url = new URL(link.href);
      } catch (error) {
        return;
      }
      if (!['t.me', 'telegram.me', 'www.t.me'].includes(url.hostname)) return;
      event.preventDefault();
      const target = url.pathname.slice(1).split('/')[0].toLowerCase();
      if (pane && state.bot && target === state.bot.toLowerCase()) {
        const code = url.searchParams.get('start');
        pane.sendText(code ? `/start ${code}` : '/start');
      } else if (pane) {
        pane.toast(`${url.hostname}${url.pathname} is a Telegram link: not opened from the web chat.`);
      }
    });
  }

  // For the browser tests: show a raw message snapshot in a person's open pane, as if the
  // emulator had sent it, so the sanitiser can be tested on HTML the emulator never produces.
  window.webchatTest = Object.freeze({
    showMessage(userId, message) {
      const pane = state.panes.find((p) => p.userId === userId);
      if (!pane) return false;
      pane.messages.set(message.message_id, message);
      pane.items.push({ kind: 'message', id: message.message_id, seq: pane.seq });
      pane.list.append(pane.renderMessage(message));
      return true;
    },
  });

  document.addEventListener('DOMContentLoaded', () => {
    wireStatic();
    main().catch((error) => {
      document.body.classList.add('offline');
      $('#empty').hidden = false;
      $('#empty').textContent = `The web chat cannot start: ${error.message}`;
    });
  });
})();
