/**
 * The dashboard's entry: asks for the API token once per browser session, then shows the overview
 * (`#/`) or a run (`#/runs/<id>`). Routes live in the fragment so the server serves one page and the
 * token never appears in a URL.
 */
import { connect, forgetToken, storedToken, storeToken, type Api } from './api.js'
import { fill, h } from './dom.js'
import { Me } from './operations.js'
import { overview } from './overview.js'
import { runPage } from './run-page.js'
import type { Session } from './session.js'

const main = document.getElementById('main')!
const who = document.getElementById('who')!
const statusLine = document.getElementById('status-line')!

function say(message: string, kind: 'error' | 'info' = 'info'): void {
  statusLine.textContent = message
  statusLine.className = kind
}

function signIn(reason?: string): void {
  fill(who)
  const input = h('input', {
    type: 'password',
    name: 'token',
    autocomplete: 'off',
    placeholder: 'dex_…',
    required: true,
    'aria-label': 'API token',
  })
  const form = h(
    'form',
    { id: 'sign-in' },
    h('h2', {}, 'API token'),
    h('p', {}, 'Kept in this tab only (sessionStorage) and sent with every request. Create one with `delta-extractor token create`.'),
    input,
    h('button', { type: 'submit' }, 'Sign in'),
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    storeToken(input.value.trim())
    void start()
  })
  fill(main, form)
  say(reason ?? '', reason ? 'error' : 'info')
  input.focus()
}

let api: Api | undefined
let leaveView: (() => void) | undefined

async function start(): Promise<void> {
  const token = storedToken()
  if (!token) return signIn()
  api?.close()
  const refused = () => {
    leaveView?.()
    api?.close()
    forgetToken()
    signIn('The service refused this token (unknown or revoked).')
  }
  api = connect(token, refused)
  const me = await api.query(Me, {}).then(
    (r) => r.me,
    // A refused token has already brought back the form; anything else (the service down) is shown as it is.
    (e: Error) => void (storedToken() && say(e.message, 'error')),
  )
  if (!me) return
  say('')
  const signOut = h('button', { type: 'button', id: 'sign-out' }, 'Sign out')
  signOut.addEventListener('click', () => {
    leaveView?.()
    api?.close()
    forgetToken()
    signIn()
  })
  fill(who, h('span', { 'data-field': 'role' }, `${me.name} (${me.role})`), ' ', signOut)
  const session: Session = { api, name: me.name, role: me.role, say }
  const route = () => {
    leaveView?.()
    const run = /^#\/runs\/([^/]+)$/.exec(location.hash)
    leaveView = run ? runPage(session, main, decodeURIComponent(run[1])) : overview(session, main)
  }
  window.onhashchange = route
  route()
}

void start()
