/* draft.js: drafting a request. The form is generated from the template of the kind
 * (GET /api/template: the empty document and its elements with type, required, hint,
 * codes, as `rogatoryctl draft` prints them); the document is judged by the console with
 * the daemon's own check (POST /api/validate) and each problem is shown at the field its
 * JSON path names; sending signs it in the daemon (POST /api/send), then the attachments
 * go up in 256 KiB chunks (POST /api/upload) with a progress bar; the answer to the last
 * chunk names the message, whose delivery is then followed here. */
'use strict';
(function () {
	var el = RG.el;
	var FINAL = ['delivered', 'rejected', 'expired', 'cancelled', 'unconfirmed'];
	var model = null;       /* the form's tree: see build() */
	var elems = {};         /* display path ("assistance[].type") -> element */
	var authorities = [];
	var kind = '';
	var files = [];

	function label(dpath) {
		var key = 'el.' + dpath.replace(/\[\]/g, '');
		return RG.has(key) ? RG.t(key) : dpath.split('.').pop();
	}
	/* The daemon's hint, in the page's language when the catalog has it. */
	function hintText(e) {
		var key = 'hint.' + String(e.path || '').replace(/\[\]/g, '');
		return (RG.has(key) ? RG.t(key) : (e.hint || '')) + (e.article ? ' (' + e.article + ')' : '');
	}
	function fid(path) {
		return 'fld-' + path.replace(/[^A-Za-z0-9_-]/g, '_');
	}

	/* A field's frame: its label, input, the daemon's hint and a slot for its problem. */
	function frame(e, dpath, input, tag) {
		var w = el(tag || 'div', {class: 'field' + (e && e.required ? ' required' : ''), dataset: {element: dpath}});
		if (tag === 'fieldset')
			w.appendChild(el('legend', {text: label(dpath)}, e && e.required ? el('span', {class: 'req', 'aria-hidden': 'true', text: ' *'}) : null));
		else
			w.appendChild(el('label', {for: input ? input.id : null}, label(dpath),
				e && e.required ? el('span', {class: 'req', 'aria-hidden': 'true', text: ' *'}) : null));
		if (input)
			w.appendChild(input);
		if (e && e.hint)
			w.appendChild(el('p', {class: 'hint', text: hintText(e)}));
		w.appendChild(el('p', {class: 'problem', role: 'alert', hidden: true}));
		return w;
	}

	function leaf(e, dpath, init, uid) {
		var type = e ? e.type : 'text (one line)';
		var id = fid(dpath) + uid;
		var input;
		if (type === 'true') {
			input = el('input', {type: 'checkbox', id: id});
			input.checked = init === true;
			var w = el('div', {class: 'field check', dataset: {element: dpath}},
				el('label', {class: 'check'}, input, el('span', {text: label(dpath)})),
				e && e.hint ? el('p', {class: 'hint', text: hintText(e)}) : null,
				el('p', {class: 'problem', role: 'alert', hidden: true}));
			return {t: 'leaf', type: type, input: input, wrap: w};
		}
		if (type === 'code') {
			input = el('select', {id: id}, el('option', {value: '', text: RG.t('draft.choose')}),
				(e.codes || []).map(function (c) {
					return el('option', {value: c.code, title: c.meaning, text: c.code + ' — ' + c.meaning});
				}));
		} else if (type === 'list of codes') {
			var box = el('div', {class: 'codes', id: id});
			var boxes = (e.codes || []).map(function (c) {
				var cb = el('input', {type: 'checkbox', value: c.code});
				box.appendChild(el('label', {class: 'check', title: c.meaning}, cb, el('span', {text: c.code + ' — ' + c.meaning})));
				return cb;
			});
			var fw = frame(e, dpath, box, 'fieldset');
			return {t: 'codes', boxes: boxes, wrap: fw};
		} else if (type === 'text (lines)') {
			input = el('textarea', {id: id, rows: 3});
		} else if (type === 'date') {
			input = el('input', {type: 'date', id: id});
		} else if (type === 'language' || type === 'country') {
			input = el('input', {type: 'text', id: id, maxlength: 2, size: 3, class: 'short',
				autocomplete: 'off', spellcheck: 'false', list: type === 'language' ? 'd-langs' : null});
		} else {
			input = el('input', {type: 'text', id: id});
		}
		if (typeof init === 'string')
			input.value = init;
		return {t: 'leaf', type: type, input: input, wrap: frame(e, dpath, input)};
	}

	var uidn = 0;
	/* The tree of one element: leaf, object {kids}, list {items, tmpl}. */
	function build(dpath, skel) {
		var e = elems[dpath];
		var uid = '-' + (uidn++);
		if (Array.isArray(skel) && skel.length && skel[0] !== null && typeof skel[0] === 'object') {
			var node = {t: 'list', dpath: dpath, tmpl: skel[0], items: []};
			node.wrap = frame(e, dpath, null, 'fieldset');
			node.box = el('div', {class: 'items'});
			node.wrap.appendChild(node.box);
			node.add = el('button', {type: 'button', class: 'small secondary add', text: RG.t('draft.add_item', {what: label(dpath)}),
				onclick: function () { addItem(node); }});
			node.wrap.appendChild(node.add);
			addItem(node);
			return node;
		}
		if (skel !== null && typeof skel === 'object' && !Array.isArray(skel)) {
			var o = {t: 'object', dpath: dpath, kids: {}};
			o.wrap = frame(e, dpath, null, 'fieldset');
			Object.keys(skel).forEach(function (k) {
				var kid = build(dpath + '.' + k, skel[k]);
				o.kids[k] = kid;
				o.wrap.appendChild(kid.wrap);
			});
			return o;
		}
		return leaf(e, dpath, skel, uid);
	}

	function addItem(list) {
		var item = {t: 'object', kids: {}};
		item.wrap = el('fieldset', {class: 'item'}, el('legend', {class: 'item-no'}));
		Object.keys(list.tmpl).forEach(function (k) {
			var kid = build(list.dpath + '[].' + k, list.tmpl[k]);
			item.kids[k] = kid;
			item.wrap.appendChild(kid.wrap);
		});
		item.wrap.appendChild(el('p', {class: 'problem', role: 'alert', hidden: true}));
		item.wrap.appendChild(el('button', {type: 'button', class: 'small secondary remove',
			text: RG.t('draft.remove_item'), onclick: function () {
				list.items.splice(list.items.indexOf(item), 1);
				item.wrap.parentNode.removeChild(item.wrap);
				renumber();
			}}));
		list.items.push(item);
		list.box.appendChild(item.wrap);
		renumber();
	}

	/* Each frame's data-path: the JSON path the daemon names a problem with. */
	function paths(node, path, out) {
		node.wrap.dataset.path = path;
		out[path] = node;
		if (node.t === 'object')
			Object.keys(node.kids).forEach(function (k) {
				paths(node.kids[k], path ? path + '.' + k : k, out);
			});
		if (node.t === 'list')
			node.items.forEach(function (it, i) {
				var p = path + '[' + i + ']';
				it.wrap.querySelector('.item-no').textContent = RG.t('draft.item', {n: i + 1});
				paths(it, p, out);
			});
		return out;
	}
	var byPath = {};
	function renumber() {
		if (model)
			byPath = paths(model, '', {});
	}

	/* The document from the form: empty texts, unchecked boxes, empty objects and lists
	 * left out (an element is written only when it says something). */
	function collect(node) {
		if (node.t === 'leaf') {
			if (node.type === 'true')
				return node.input.checked ? true : undefined;
			var v = node.input.value.trim();
			if (node.type === 'country')
				v = v.toUpperCase();
			if (node.type === 'language')
				v = v.toLowerCase();
			return v === '' ? undefined : v;
		}
		if (node.t === 'codes') {
			var c = node.boxes.filter(function (b) { return b.checked; }).map(function (b) { return b.value; });
			return c.length ? c : undefined;
		}
		if (node.t === 'list') {
			var a = node.items.map(collect).filter(function (x) { return x !== undefined; });
			return a.length ? a : undefined;
		}
		var o = {};
		var any = false;
		Object.keys(node.kids).forEach(function (k) {
			var v = collect(node.kids[k]);
			if (v !== undefined) {
				o[k] = v;
				any = true;
			}
		});
		return any || node === model ? o : undefined;
	}
	function documentOf() {
		var d = collect(model);
		d.kind = kind;
		return d;
	}

	/* ---- problems at their fields ---- */

	function clearProblems() {
		RG.$('doc').querySelectorAll('.problem').forEach(function (p) {
			p.hidden = true;
			p.textContent = '';
		});
		RG.$('doc').querySelectorAll('.invalid').forEach(function (n) { n.classList.remove('invalid'); });
		var top = RG.clear(RG.$('doc-problems'));
		top.hidden = true;
		RG.$('d-valid').hidden = true;
	}
	/* The frame of path, else of its nearest parent ("a[0].b" -> "a[0]" -> "a"). */
	function frameOf(path) {
		var p = path;
		while (p) {
			if (byPath[p] && p !== '')
				return byPath[p].wrap;
			var cut = Math.max(p.lastIndexOf('.'), p.lastIndexOf('['));
			p = cut > 0 ? p.slice(0, cut) : '';
		}
		return null;
	}
	function showProblems(list) {
		clearProblems();
		var top = RG.$('doc-problems');
		top.appendChild(el('p', {text: RG.t('draft.problems', {n: list.length})}));
		top.hidden = false;
		var first = null;
		list.forEach(function (x) {
			var w = frameOf(x.path || '');
			var slot = w ? w.querySelector(':scope > .problem') : null;
			if (slot) {
				slot.textContent = slot.textContent ? slot.textContent + '; ' + x.reason : x.reason;
				slot.hidden = false;
				w.classList.add('invalid');
				first = first || w;
			} else {
				top.appendChild(el('p', {class: 'problem', text: (x.path || RG.t('draft.document')) + ': ' + x.reason}));
			}
		});
		(first || top).scrollIntoView({block: 'center'});
	}

	/* ---- the recipient, the kind ---- */

	function recipients() {
		var sel = RG.$('d-to');
		var keep = sel.value || RG.params.get('to') || '';
		RG.clear(sel);
		authorities.filter(function (a) {
			return !a.self && (a.kinds || []).indexOf(kind) >= 0;
		}).forEach(function (a) {
			sel.appendChild(el('option', {value: a.id, text: a.id + ' — ' + a.name}));
		});
		if (keep)
			sel.value = keep;
		if (!sel.value && sel.options.length)
			sel.value = sel.options[0].value;
	}

	function showRecipient() {
		var to = RG.$('d-to').value;
		var panel = RG.$('recipient-panel');
		if (!to) {
			panel.hidden = true;
			return Promise.resolve();
		}
		return RG.get('/api/authority', {id: to}).then(function (a) {
			var box = RG.clear(RG.$('recipient'));
			var r = (a.requirements || {})[kind];
			var dl = el('datalist', {id: 'd-langs'}, (a.languages || []).map(function (l) { return el('option', {value: l}); }));
			var old = RG.$('d-langs');
			if (old)
				old.parentNode.removeChild(old);
			document.body.appendChild(dl);
			box.appendChild(RG.dl([['col.languages', ((r && r.languages && r.languages.length ? r.languages : a.languages) || []).join(', ')],
				['req.legal_bases', r ? r.legal_bases : null],
				['req.translation', r && r.translation !== null ? (r.translation ? RG.t('common.yes') : RG.t('common.no')) : null],
				['req.certified_copies', r && r.certified_copies !== null ? (r.certified_copies ? RG.t('common.yes') : RG.t('common.no')) : null],
				['req.urgent_contact', r ? r.urgent_contact : null], ['req.url', r && r.url ? el('span', {class: 'mono', text: r.url}) : null]]));
			panel.hidden = false;
			/* the language element starts as the recipient's first */
			var lang = byPath.language;
			if (lang && lang.input && !lang.input.value && a.languages && a.languages.length)
				lang.input.value = a.languages[0];
		}, function (e) {
			RG.showError(e);
		});
	}

	function loadTemplate() {
		kind = RG.$('d-kind').value;
		recipients();
		return RG.get('/api/template', {kind: kind, to: RG.$('d-to').value}).then(function (t) {
			var doc = t.document || t.template || t;
			elems = {};
			(t.elements || []).forEach(function (e) { elems[e.path] = e; });
			var skel = {};
			Object.keys(doc).forEach(function (k) {
				if (k !== 'kind' && k.charAt(0) !== '_')
					skel[k] = doc[k];
			});
			model = {t: 'object', kids: {}, wrap: el('div', {class: 'doc'})};
			Object.keys(skel).forEach(function (k) {
				var kid = build(k, skel[k]);
				model.kids[k] = kid;
				model.wrap.appendChild(kid.wrap);
			});
			RG.clear(RG.$('fields')).appendChild(model.wrap);
			renumber();
			clearProblems();
			document.body.dataset.loaded = '1';
			return showRecipient();
		}, function (e) {
			RG.showError(e);
		});
	}

	/* ---- check, send, upload ---- */

	function validate() {
		RG.hideError();
		return RG.post('/api/validate', {to: RG.$('d-to').value, document: documentOf()}).then(function (r) {
			if (r.ok) {
				clearProblems();
				RG.$('d-valid').hidden = false;
				return true;
			}
			showProblems(r.problems || []);
			return false;
		}, function (e) {
			if (e.problems)
				showProblems(e.problems);
			else
				RG.showError(e);
			return false;
		});
	}

	function listFiles() {
		files = Array.prototype.slice.call(RG.$('d-files').files || []);
		var ul = RG.clear(RG.$('d-file-list'));
		files.forEach(function (f) {
			ul.appendChild(el('li', null, el('span', {text: f.name}), ' ',
				el('span', {class: 'meta', text: (f.type || 'application/octet-stream') + ', ' + RG.bytes(f.size)}),
				f.size === 0 ? el('span', {class: 'err', text: ' ' + RG.t('draft.empty_file')}) : null));
		});
	}

	function follow(m) {
		var tries = 0;
		function poll() {
			RG.get('/api/message', {id: m.id}).then(function (r) {
				var st = (r.message || {}).state;
				var s = RG.clear(RG.$('sent-state'));
				s.appendChild(RG.badge('state', st));
				s.dataset.state = st;
				if (FINAL.indexOf(st) < 0 && ++tries < 120)
					window.setTimeout(poll, 1000);
			}, function () {});
		}
		poll();
	}

	function sent(m) {
		RG.$('sent-panel').hidden = false;
		var a = RG.$('sent-link');
		a.href = RG.messageHref({id: m.id, direction: 'out'});
		a.textContent = m.id;
		RG.$('sent-case').href = RG.caseHref(m.id, '');
		RG.clear(RG.$('sent-state')).appendChild(RG.badge('state', m.state));
		RG.$('sent-state').dataset.state = m.state || '';
		RG.$('doc').hidden = true;
		RG.$('choose').hidden = true;
		RG.$('recipient-panel').hidden = true;
		RG.$('sent-panel').scrollIntoView();
		follow(m);
	}

	function send(ev) {
		ev.preventDefault();
		RG.hideError();
		clearProblems();
		if (files.some(function (f) { return f.size === 0; })) {
			RG.showError({code: 'empty-file', text: RG.t('draft.empty_file')});
			return;
		}
		var btn = RG.$('d-send');
		btn.disabled = true;
		var body = {to: RG.$('d-to').value, document: documentOf(), attachments: RG.attachmentsOf(files)};
		RG.post('/api/send', body).then(function (r) {
			if (!r.upload)
				return r;
			RG.$('upload-panel').hidden = false;
			return RG.upload(files, r.upload, RG.progress(RG.$('d-progress'), RG.$('d-progress-text')));
		}).then(function (r) {
			btn.disabled = false;
			if (r && r.message)
				sent(r.message);
			else
				RG.showError({code: 'no-answer', text: JSON.stringify(r).slice(0, 200)});
		}, function (e) {
			btn.disabled = false;
			RG.$('upload-panel').hidden = true;
			if (e.problems)
				showProblems(e.problems);
			else
				RG.showError(e);
		});
	}

	RG.start(function () {
		return Promise.all([RG.get('/api/kinds'), RG.get('/api/directory')]).then(function (r) {
			authorities = (r[1] && r[1].authorities) || [];
			var ks = RG.$('d-kind');
			(r[0] || []).forEach(function (k) {
				var code = typeof k === 'string' ? k : k.kind;
				ks.appendChild(el('option', {value: code, text: RG.has('kind.' + code) ? RG.t('kind.' + code) : (k.label || code)}));
			});
			ks.value = RG.params.get('kind') || 'mla';
			if (!ks.value && ks.options.length)
				ks.value = ks.options[0].value;
			ks.addEventListener('change', loadTemplate);
			RG.$('d-to').addEventListener('change', showRecipient);
			RG.$('d-files').addEventListener('change', listFiles);
			RG.$('d-validate').addEventListener('click', validate);
			RG.$('doc').addEventListener('submit', send);
			return loadTemplate();
		});
	});
})();
