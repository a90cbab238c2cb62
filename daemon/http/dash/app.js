/* fundwatch 看板: four pages over the daemon's JSON API (/summary,
 * /healthz, /findings, /findings/{id}/explain, /policies, /report.xlsx).
 * No framework, no network but this daemon. Text goes in with textContent
 * only; money is shown from the API's decimal text, never recomputed. */
'use strict';
(function () {
  var main = document.getElementById('main');
  var alarm = document.getElementById('alarm');

  var LEVEL = { red: '红灯', yellow: '黄灯', info: '提示' };
  var KIND = { alert: '预警', clawback: '收回建议', score: '评分',
               error: '规则运行错误', ops: '系统运行问题' };
  var STATE = { open: '未解除', resolved: '已解除' };
  var FIELD = {
    kind: '类型', region: '财政区划代码', year: '预算年度', dept: '单位代码',
    dept_name: '单位名称', project: '项目代码', project_name: '项目名称',
    category: '项目类别', fund_type: '资金性质', is_new: '是否新增',
    budget: '指标金额(元)', paid: '累计支付(元)', base: '挂钩基数(元)',
    as_of: '数据日期', goal_rate: '绩效目标完成率(%)', score: '自评分',
    review_score: '复核评分', output_pts: '产出指标得分',
    benefit_pts: '效益指标得分', satisfaction_pts: '满意度指标得分',
    reason: '偏差原因', task: '任务编号', task_name: '任务名称',
    due: '截止日期', done_on: '完成日期'
  };
  var MONEY = { budget: 1, paid: 1, base: 1 };
  var FIGURE = { seq: '序时进度(%)', progress: '支出进度(%)',
                 lag: '落后序时进度(百分点)' };
  /* The list's order: red first, then yellow, info, and the other kinds;
   * each a keyset stream of GET /findings. */
  var STREAMS = {
    '': [['alert', 'red'], ['alert', 'yellow'], ['alert', 'info'],
         ['clawback', ''], ['score', ''], ['error', ''], ['ops', '']],
    red: [['alert', 'red']], yellow: [['alert', 'yellow']],
    info: [['alert', 'info']], clawback: [['clawback', '']],
    score: [['score', '']], problem: [['error', ''], ['ops', '']]
  };
  var PAGE = 50;
  var policiesCache = null;

  /* ---- helpers ---------------------------------------------------------- */

  function el(tag, attrs, kids) {
    var e = document.createElement(tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (k) {
        if (k === 'text') e.textContent = attrs[k];
        else if (k === 'cls') e.className = attrs[k];
        else if (k.slice(0, 2) === 'on') e.addEventListener(k.slice(2), attrs[k]);
        else if (attrs[k] !== null && attrs[k] !== undefined) e.setAttribute(k, attrs[k]);
      });
    }
    (kids || []).forEach(function (c) {
      if (c === null || c === undefined) return;
      e.appendChild(typeof c === 'string' || typeof c === 'number'
        ? document.createTextNode(String(c)) : c);
    });
    return e;
  }

  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

  function show(nodes) {
    clear(main);
    nodes.forEach(function (n) { if (n) main.appendChild(n); });
  }

  function fail(err) {
    show([el('div', { cls: 'error-box', role: 'alert' },
      ['无法读取数据:', String(err && err.message || err)])]);
  }

  function api(path) {
    return fetch(path, { credentials: 'same-origin',
                         headers: { Accept: 'application/json' } })
      .then(function (r) {
        if (r.status === 401) { location.href = '/'; throw new Error('登录已过期'); }
        return r.json().then(function (j) {
          if (!r.ok && path !== '/healthz') throw new Error(j.error || r.status);
          return j;
        });
      });
  }

  /* "1234567.80" → "1,234,567.80": on the text, no floating point. */
  function yuan(s) {
    if (s === null || s === undefined || s === '') return '';
    s = String(s);
    var neg = s.charAt(0) === '-';
    if (neg) s = s.slice(1);
    var dot = s.indexOf('.');
    var ip = dot < 0 ? s : s.slice(0, dot), fp = dot < 0 ? '' : s.slice(dot);
    var out = '';
    while (ip.length > 3) { out = ',' + ip.slice(-3) + out; ip = ip.slice(0, -3); }
    return (neg ? '-' : '') + ip + out + fp;
  }
  function num(n) { return yuan(String(n || 0)); }

  function when(iso) {
    if (!iso) return '';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return iso;
    function p(x) { return (x < 10 ? '0' : '') + x; }
    return d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) +
      ' ' + p(d.getHours()) + ':' + p(d.getMinutes());
  }

  function query(obj) {
    return Object.keys(obj).filter(function (k) { return obj[k]; })
      .map(function (k) { return k + '=' + encodeURIComponent(obj[k]); }).join('&');
  }

  function parseHash() {
    var h = location.hash.replace(/^#/, '') || '/';
    var q = h.indexOf('?');
    var path = q < 0 ? h : h.slice(0, q), params = {};
    if (q >= 0) {
      h.slice(q + 1).split('&').forEach(function (kv) {
        var i = kv.indexOf('=');
        if (i > 0) params[decodeURIComponent(kv.slice(0, i))] = decodeURIComponent(kv.slice(i + 1));
      });
    }
    return { path: path, params: params };
  }

  function badge(f) {
    if (f.kind === 'alert' && f.level)
      return el('span', { cls: 'badge ' + f.level, text: LEVEL[f.level] });
    return el('span', { cls: 'badge ' + f.kind, text: KIND[f.kind] || f.kind });
  }

  function policies() {
    if (!policiesCache) policiesCache = api('/policies').catch(function (e) {
      policiesCache = null; throw e;
    });
    return policiesCache;
  }

  function setNav(page) {
    document.querySelectorAll('.top nav a').forEach(function (a) {
      a.className = a.getAttribute('data-page') === page ? 'on' : '';
    });
  }

  /* ---- the alarm: a refused reload, failed feeds ------------------------- */

  function setAlarm(health, summary) {
    clear(alarm);
    var lines = [];
    var lr = health && health.last_reload;
    if (lr && lr.ok === false) {
      lines.push(el('p', null, ['规则更新被拒绝(' + when(lr.at) + '),仍在运行上一版规则。']));
      lines.push(el('p', null, [el('small', { text: lr.error || '' })]));
    }
    var ft = summary && summary.feeds_today;
    if (ft && ft.failed > 0) {
      var lf = summary.last_failed_feed;
      lines.push(el('p', null, ['今天有 ' + ft.failed + ' 个数据文件处理失败。']));
      if (lf) lines.push(el('p', null, [el('small', { text: '最近一次:' + lf.name + '(' + when(lf.at) + '):' + (lf.reason || '') })]));
    }
    lines.forEach(function (l) { alarm.appendChild(l); });
    alarm.hidden = lines.length === 0;
  }

  /* ---- 概览 --------------------------------------------------------------- */

  function card(cls, key, label, value, sub, href) {
    return el('a', { cls: 'card ' + cls, href: href, 'data-k': key }, [
      el('div', { cls: 'k', text: label }),
      el('div', { cls: 'v', text: value }),
      el('div', { cls: 's', text: sub || '' })]);
  }

  function overview() {
    setNav('overview');
    Promise.all([api('/summary'), api('/healthz')]).then(function (r) {
      var s = r[0], h = r[1], o = s.open;
      setAlarm(h, s);
      var cards = el('div', { cls: 'cards' }, [
        card('red', 'red', '红灯预警', num(o.alert.red), '未解除', '#/list?lv=red'),
        card('yellow', 'yellow', '黄灯预警', num(o.alert.yellow), '未解除', '#/list?lv=yellow'),
        card('info', 'info', '提示', num(o.alert.info), '未解除', '#/list?lv=info'),
        card('claw', 'clawback', '收回建议', num(o.clawback), '合计 ' + yuan(s.amounts.clawback) + ' 元', '#/list?lv=clawback'),
        card('score', 'score', '绩效评分', num(o.score), '挂钩调整合计 ' + yuan(s.amounts.linkage) + ' 元', '#/list?lv=score'),
        card('prob', 'problem', '运行问题', num(o.error + o.ops), '规则错误 ' + o.error + ',系统 ' + o.ops, '#/list?lv=problem')
      ]);
      var week = el('div', { cls: 'panel' }, [
        el('dl', { cls: 'facts' }, [
          fact('未解除合计', num(o.total), 'total'),
          fact('近 7 天新发现', num(s.week.opened), 'opened'),
          fact('近 7 天已解除', num(s.week.resolved), 'resolved'),
          fact('统计时间', when(s.at))])]);
      var maxRed = 1;
      s.regions.forEach(function (g) { if (g.red > maxRed) maxRed = g.red; });
      var regions = el('section', { cls: 'panel' }, [
        el('h3', { text: '按地区(未解除的预警和收回建议)' }),
        table(['区划代码', '红灯', '黄灯', '合计', '建议收回(元)'], s.regions.map(function (g) {
          var bar = el('span', { cls: 'bar' });
          bar.style.width = Math.round(60 * g.red / maxRed) + 'px';
          return rowLink('#/list?region=' + g.region, [
            g.region, [num(g.red), bar], num(g.yellow), num(g.open), yuan(g.clawback)], 'region');
        }), [false, true, true, true, true])]);
      var units = el('section', { cls: 'panel' }, [
        el('h3', { text: '按单位(前 ' + s.units.length + ' 个)' }),
        table(['单位名称', '区划', '红灯', '黄灯', '合计', '建议收回(元)'], s.units.map(function (g) {
          return rowLink('#/list?' + query({ region: g.region, dept: g.dept }), [
            g.dept_name || g.dept, g.region, num(g.red), num(g.yellow), num(g.open), yuan(g.clawback)], 'unit');
        }), [false, false, true, true, true, true])]);
      var ft = s.feeds_today, lr = h.last_reload || {};
      var run = el('section', { cls: 'panel' }, [
        el('h3', { text: '运行情况' }),
        el('dl', { cls: 'facts' }, [
          fact('今日已处理数据文件', num(ft.done), 'feeds-done'),
          fact('重复送达', num(ft.duplicate)),
          fact('处理失败', num(ft.failed), 'feeds-failed', ft.failed > 0 ? 'bad' : ''),
          fact('今日记录', num(ft.records)),
          fact('拒收行', num(ft.rejects), 'rejects', ft.rejects > 0 ? 'bad' : ''),
          fact('在用规则版本', (h.generation || '').slice(7, 19) + '…(' + h.policies + ' 个策略)'),
          fact('最近一次规则更新', when(lr.at) + (lr.ok ? ' 成功' : ' 被拒绝'), 'reload', lr.ok ? 'good' : 'bad'),
          fact('启动时间', when(h.started))])]);
      show([cards, week, el('div', { cls: 'cols' }, [regions, units]), run]);
    }).catch(fail);
  }

  function fact(label, value, key, cls) {
    return el('div', null, [el('dt', { text: label }),
      el('dd', { text: value, 'data-k': key || null, cls: cls || null })]);
  }

  function table(heads, rows, numeric) {
    numeric = numeric || [];
    return el('table', null, [
      el('thead', null, [el('tr', null, heads.map(function (h, i) {
        return el('th', { text: h, cls: numeric[i] ? 'n' : null });
      }))]),
      el('tbody', null, rows.map(function (r) {
        if (r.tagName) {
          Array.prototype.forEach.call(r.children, function (td, i) {
            if (numeric[i]) td.className = (td.className + ' n').trim();
          });
          return r;
        }
        return el('tr', null, r.map(function (c, i) {
          return el('td', { cls: numeric[i] ? 'n' : null }, Array.isArray(c) ? c : [c]);
        }));
      }))]);
  }

  function rowLink(href, cells, key) {
    var tr = el('tr', { cls: 'row', 'data-k': key || null,
      onclick: function () { location.hash = href; } }, cells.map(function (c, i) {
      if (i === 0) return el('td', null, [el('a', { href: href, text: c })]);
      return el('td', null, Array.isArray(c) ? c : [c]);
    }));
    return tr;
  }

  /* ---- 预警列表 ------------------------------------------------------------ */

  function list(params) {
    setNav('list');
    var lv = STREAMS[params.lv] ? params.lv || '' : '';
    var state = params.state === undefined ? 'open' : params.state;
    var base = { region: params.region, dept: params.dept, rule: params.rule,
                 from: params.from, to: params.to,
                 state: state === 'all' ? '' : state };
    var streams = STREAMS[lv], si = 0, after = 0, shown = 0, busy = false;

    var form = el('form', { cls: 'filters panel', onsubmit: function (ev) {
      ev.preventDefault();
      var f = ev.target.elements, p = {};
      ['region', 'dept', 'rule', 'lv', 'state', 'from', 'to'].forEach(function (k) {
        if (f[k].value) p[k] = f[k].value.trim();
      });
      if (!p.state) p.state = 'all';
      location.hash = '#/list?' + query(p);
    } }, [
      label('区划代码(前缀)', el('input', { name: 'region', value: params.region || '', placeholder: '如 50 或 500103', inputmode: 'numeric' })),
      label('单位代码', el('input', { name: 'dept', value: params.dept || '' })),
      label('规则', el('select', { name: 'rule' }, [el('option', { value: '', text: '全部规则' })])),
      label('级别/类别', select('lv', lv, [['', '全部(红灯优先)'], ['red', '红灯'], ['yellow', '黄灯'], ['info', '提示'],
        ['clawback', '收回建议'], ['score', '评分'], ['problem', '运行问题']])),
      label('状态', select('state', state === 'all' ? '' : state, [['open', '未解除'], ['resolved', '已解除'], ['', '全部']])),
      label('数据日期自', el('input', { name: 'from', type: 'date', cls: 'date', value: params.from || '' })),
      label('至', el('input', { name: 'to', type: 'date', cls: 'date', value: params.to || '' })),
      el('button', { cls: 'btn', type: 'submit', text: '筛选' }),
      el('a', { cls: 'btn plain', href: '#/list', text: '清除' })
    ]);
    policies().then(function (p) {
      var sel = form.elements.rule;
      p.policies.forEach(function (pol) {
        pol.rules.forEach(function (r) {
          sel.appendChild(el('option', { value: r.id, text: r.title + '(' + r.id + ')' }));
        });
      });
      sel.value = params.rule || '';
    }).catch(function () {});

    var rq = { region: base.region, dept: base.dept, rule: base.rule, state: base.state,
               from: base.from, to: base.to };
    if (streams.length === 1) { rq.kind = streams[0][0]; rq.level = streams[0][1]; }
    var download = el('a', { cls: 'btn plain', href: '/report.xlsx?' + query(rq),
      download: 'fundwatch-report.xlsx', text: '下载 Excel 报表(当前筛选)', id: 'download' });
    var count = el('span', { cls: 'muted', id: 'count' });
    var tbody = el('tbody');
    var tbl = el('table', { id: 'findings' }, [el('thead', null, [el('tr', null,
      ['级别', '单位名称', '项目名称', '规则', '说明', '金额(元)', '数据日期', '状态'].map(function (h, i) {
        return el('th', { text: h, cls: i === 5 ? 'n' : null });
      }))]), tbody]);
    var more = el('button', { cls: 'btn plain', type: 'button', text: '加载更多', onclick: load });
    var moreBox = el('div', { cls: 'more' }, [more]);
    show([form, el('div', { cls: 'listbar' }, [count, download]), tbl, moreBox]);

    function load() {
      if (busy || si >= streams.length) return;
      busy = true;
      more.disabled = true;
      var got = 0;
      (function step() {
        if (si >= streams.length || got >= PAGE) return finish();
        var q = Object.assign({}, base, { kind: streams[si][0], level: streams[si][1],
                                          limit: PAGE - got, after: after || '' });
        api('/findings?' + query(q)).then(function (r) {
          r.findings.forEach(function (f) { tbody.appendChild(row(f)); });
          got += r.count;
          shown += r.count;
          if (r.next) after = r.after; else { si++; after = 0; }
          step();
        }).catch(function (e) { busy = false; fail(e); });
      })();
      function finish() {
        busy = false;
        more.disabled = false;
        moreBox.hidden = si >= streams.length;
        count.textContent = shown ? '已显示 ' + shown + ' 条' + (si >= streams.length ? '(全部)' : '')
                                  : '没有符合条件的结果';
      }
    }
    load();
  }

  function label(text, input) { return el('label', null, [text, input]); }

  function select(name, value, opts) {
    var s = el('select', { name: name }, opts.map(function (o) {
      return el('option', { value: o[0], text: o[1] });
    }));
    s.value = value;
    return s;
  }

  function row(f) {
    var href = '#/finding/' + f.id;
    return el('tr', { cls: 'row', 'data-level': f.level || f.kind,
      onclick: function () { location.hash = href; } }, [
      el('td', null, [badge(f)]),
      el('td', null, [el('a', { href: href, text: f.dept_name || f.dept || '—' })]),
      el('td', { text: f.project_name || f.project || f.task || '' }),
      el('td', { text: f.title || f.rule }),
      el('td', { cls: 'msg', text: f.message || '' }),
      el('td', { cls: 'n', text: yuan(f.amount) }),
      el('td', { cls: 'nw', text: f.as_of || '' }),
      el('td', null, [el('span', { cls: 'badge ' + (f.state === 'open' ? f.level || f.kind : 'resolved'),
                                   text: STATE[f.state] || f.state })])]);
  }

  /* ---- a finding ------------------------------------------------------------ */

  function finding(id) {
    setNav('list');
    api('/findings/' + encodeURIComponent(id) + '/explain').then(function (f) {
      var dl = el('dl', { cls: 'detail' });
      function add(k, v) {
        if (v === null || v === undefined || v === '') return;
        dl.appendChild(el('dt', { text: k }));
        dl.appendChild(el('dd', { text: String(v) }));
      }
      add('单位名称', f.dept_name); add('单位代码', f.dept);
      add('项目名称', f.project_name); add('项目代码', f.project);
      add('财政区划代码', f.region); add('任务', f.task);
      add('数据日期', f.as_of); add('金额(元)', yuan(f.amount));
      add('比例', f.ratio); add('评分', f.score); add('等级', f.grade);
      add('状态', STATE[f.state] || f.state); add('首次发现', when(f.first_seen));
      add('最近发现', when(f.last_seen)); add('解除时间', when(f.resolved_at));
      add('规则', f.rule + '(策略 ' + f.policy + ')');
      add('数据来源', f.source ? f.source.feed + ' 第 ' + f.source.line + ' 行' : '');
      add('规则版本', f.policy_version); add('编号', f.id);
      var ev = f.evidence, parts = [];
      if (!ev) {
        parts.push(el('p', { cls: 'muted', text: '这条结果在记录依据的功能上线之前生成,没有依据可显示。' }));
      } else {
        var fields = Object.keys(ev.fields || {});
        parts.push(el('h3', { text: '规则读取的字段' }));
        parts.push(fields.length ? table(['字段', '值'], fields.map(function (k) {
          var v = ev.fields[k];
          return [FIELD[k] ? FIELD[k] + ' ' + k : k,
                  v === null ? '(空)' : MONEY[k] ? yuan(v) : String(v)];
        })) : el('p', { cls: 'muted', text: '无' }));
        var figs = Object.keys(ev.figures || {});
        if (figs.length) {
          parts.push(el('h3', { text: '计算的数值' }));
          parts.push(table(['名称', '值'], figs.map(function (k) {
            return [FIGURE[k] ? FIGURE[k] + ' ' + k : k, String(ev.figures[k])];
          })));
        }
        parts.push(el('h3', { text: '阈值及其设置位置' }));
        parts.push((ev.params || []).length ? table(['参数', '值', '设置位置'], ev.params.map(function (p) {
          return [p.name, String(p.value), el('code', { text: p.at || '' })];
        })) : el('p', { cls: 'muted', text: '这条规则未使用可配置的阈值。' }));
      }
      show([
        el('p', null, [el('a', { href: '#/list', text: '← 返回预警列表' })]),
        el('section', { cls: 'panel', id: 'finding' }, [
          el('h2', null, [badge(f), ' ', f.title || f.rule]),
          el('p', { cls: 'msgline', text: f.message || '' }), dl]),
        el('section', { cls: 'panel', id: 'evidence' }, [el('h2', { text: '依据' })].concat(parts)),
        f.rule_source ? el('section', { cls: 'panel' }, [el('h2', { text: '政策原文' }),
          el('blockquote', { text: f.rule_source })]) : null,
        el('section', { cls: 'panel todo', id: 'ack' }, [
          el('h2', { text: '确认与处理记录(尚未提供)' }),
          el('p', { text: '确认(签收)按钮和处理历史(谁在何时确认、备注、解除和再次出现)需要守护进程的确认接口 ' +
            'POST /findings/{id}/ack(issue 18),该接口上线后在此显示。目前可见的历史只有上面的首次发现、最近发现和解除时间。' })])
      ]);
    }).catch(fail);
  }

  /* ---- 规则 ------------------------------------------------------------------ */

  function rules(params) {
    setNav('rules');
    policies().then(function (p) {
      var region = params.region || '';
      var form = el('form', { cls: 'filters panel', onsubmit: function (ev) {
        ev.preventDefault();
        location.hash = '#/rules?' + query({ region: ev.target.elements.region.value.trim() });
      } }, [label('财政区划代码', el('input', { name: 'region', value: region, placeholder: '如 500103' })),
            el('button', { cls: 'btn', type: 'submit', text: '查看该地区生效的规则' }),
            el('span', { cls: 'muted', text: '在用规则版本 ' + p.generation })]);
      var govern = p.policies.filter(function (pol) {
        return !region || pol.regions.some(function (r) { return region.indexOf(r) === 0; });
      });
      var replaced = {};
      if (region) govern.forEach(function (pol) {
        pol.replaces.forEach(function (id) { replaced[id] = pol.title || pol.id; });
      });
      govern.sort(function (a, b) {
        function w(pol) { return Math.max.apply(null, pol.regions.map(function (r) { return region.indexOf(r) === 0 || !region ? r.length : -1; })); }
        return w(a) - w(b);
      });
      var panels = govern.map(function (pol) {
        return el('section', { cls: 'panel' }, [
          el('h3', { text: (pol.title || pol.id) + '(' + pol.id + ')' }),
          el('p', { cls: 'muted', text: '适用区划:' + (pol.regions.map(function (r) { return r || '全国'; }).join('、')) +
            ';文件 ' + pol.path + (pol.replaces.length ? ';取代 ' + pol.replaces.join('、') : '') }),
          table(['规则编号', '名称', '依据'], pol.rules.map(function (r) {
            var by = replaced[r.id];
            return [el('span', { cls: by ? 'replaced' : null, text: r.id }),
                    by ? r.title + '(在此地区被 ' + by + ' 取代)' : r.title, r.source || ''];
          }))]);
      });
      show([form].concat(panels, [el('p', { cls: 'muted',
        text: '各规则的参数值及其所在的 YAML 行号:运行 fundwatch rules --region 区划代码,或见 docs/rules.md。' })]));
    }).catch(fail);
  }

  /* ---- routing --------------------------------------------------------------- */

  function route() {
    var h = parseHash();
    if (h.path.indexOf('/finding/') === 0) return finding(h.path.slice(9));
    if (h.path === '/list') return list(h.params);
    if (h.path === '/rules') return rules(h.params);
    return overview();
  }

  window.addEventListener('hashchange', route);
  route();
  /* the alarm stays current on every page */
  if (location.hash && location.hash !== '#/')
    Promise.all([api('/healthz'), api('/summary')]).then(function (r) { setAlarm(r[0], r[1]); }).catch(function () {});
})();
