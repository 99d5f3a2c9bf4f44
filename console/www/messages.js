/* messages.js: every message, both directions, newest first, with the filters the
 * daemon applies (authority, state, direction, the start of the id) and keyset paging
 * (the reply's "next" cursor is the "before" of the next page; the cursors seen are kept
 * to go back). The filters live in the address, so a reload or a link keeps them. */
'use strict';
(function () {
	var el = RG.el;
	var STATES = ['queued', 'sending', 'retrying', 'delivered', 'rejected', 'failed', 'expired',
		'unconfirmed', 'cancelled', 'received'];
	var LIMIT = 50;
	var stack = [];     /* the "before" of each page shown so far; '' for the first */
	var next = null;

	function filters() {
		return {direction: RG.$('f-direction').value, peer: RG.$('f-peer').value,
			state: RG.$('f-state').value, id: RG.$('f-id').value.trim().toLowerCase()};
	}

	function render(list) {
		var box = RG.clear(RG.$('list'));
		if (!list.length) {
			box.appendChild(RG.empty('messages.none'));
			return;
		}
		box.appendChild(RG.table(['col.message', 'col.direction', 'col.peer', 'col.kind',
			'col.state', 'col.attempts', 'col.updated', 'col.size'], list.map(function (m) {
			return {attrs: {dataset: {id: m.id, state: m.state}}, cells: [
				el('a', {href: RG.messageHref(m), class: 'mono', title: m.id, text: m.id}),
				RG.tv('dir', m.direction), m.peer,
				[RG.tv('kind', m.kind), m.urgent ? [' ', RG.badge('common', 'urgent')] : null],
				[RG.badge('state', m.state), m.paused ? [' ', RG.badge('common', 'paused')] : null],
				String(m.attempts !== undefined ? m.attempts : ''), RG.timeEl(m.updated),
				RG.bytes(m.size)]};
		}), 'messages'));
	}

	function load() {
		var f = filters();
		var before = stack[stack.length - 1] || '';
		var q = Object.assign({}, f, {before: before, limit: LIMIT});
		return RG.get('/api/messages', q).then(function (r) {
			RG.hideError();
			var list = Array.isArray(r) ? r : (r.messages || []);
			next = Array.isArray(r) ? null : (r.next || null);
			render(list);
			RG.$('next').disabled = !next;
			RG.$('prev').disabled = stack.length <= 1;
			RG.$('first').disabled = stack.length <= 1;
			RG.$('page-no').textContent = RG.t('pager.page', {n: stack.length});
			document.body.dataset.loaded = '1';
		}, function (e) {
			RG.showError(e);
		});
	}

	function fromAddress() {
		['direction', 'peer', 'state', 'id'].forEach(function (k) {
			var v = RG.params.get(k);
			if (v !== null)
				RG.$('f-' + k).value = v;
		});
	}

	function toAddress() {
		var f = filters();
		var q = RG.query(f);
		window.history.replaceState(null, '', '/messages' + q);
	}

	RG.start(function () {
		var st = RG.$('f-state');
		STATES.forEach(function (s) {
			st.appendChild(el('option', {value: s, text: RG.tv('state', s)}));
		});
		return RG.get('/api/peers').then(function (peers) {
			var sel = RG.$('f-peer');
			peers.forEach(function (p) {
				sel.appendChild(el('option', {value: p.id, text: p.id}));
			});
			fromAddress();
			/* a peer named in the address but not in the directory still filters */
			var want = RG.params.get('peer');
			if (want && sel.value !== want) {
				sel.appendChild(el('option', {value: want, text: want}));
				sel.value = want;
			}
			stack = [''];
			RG.$('filters').addEventListener('submit', function (ev) {
				ev.preventDefault();
				stack = [''];
				toAddress();
				load();
			});
			RG.$('filters').addEventListener('reset', function () {
				window.setTimeout(function () {
					stack = [''];
					toAddress();
					load();
				}, 0);
			});
			RG.$('next').addEventListener('click', function () {
				if (next) {
					stack.push(next);
					load();
				}
			});
			RG.$('prev').addEventListener('click', function () {
				if (stack.length > 1) {
					stack.pop();
					load();
				}
			});
			RG.$('first').addEventListener('click', function () {
				stack = [''];
				load();
			});
			return load();
		});
	});
})();
