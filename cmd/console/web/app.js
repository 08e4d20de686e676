// A placeholder until the console's page lands (branch console-web): it shows that the
// API answers.
const res = await fetch('/api/config');
document.querySelector('#app').insertAdjacentHTML('beforeend', `<pre>${await res.text()}</pre>`);
