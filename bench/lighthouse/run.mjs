// One Lighthouse run of a page for bench/lighthouse.py, in Debian's Chromium (headless), with
// Lighthouse's default mobile emulation and a Chinese phone's language (Accept-Language zh-CN:
// the shop's pages as its buyers get them, not the English of Lighthouse's en-US default). A session cookie, when given, goes in the browser's cookie
// jar as a buyer's would be: --extra-headers' Cookie is lost on the page's own requests (the
// checkout's delivery quote) once the page has set a cookie (csrftoken) of its own.
//
//   node run.mjs URL OUT.json CATEGORIES CHROME [SESSION_COOKIE]
import fs from "node:fs";
import lighthouse from "lighthouse";
import puppeteer from "puppeteer-core";

const [url, out, categories, chrome, cookie] = process.argv.slice(2);
const browser = await puppeteer.launch({
  executablePath: chrome,
  headless: true,
  defaultViewport: null,
  args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--lang=zh-CN", "--accept-lang=zh-CN,zh"],
});
try {
  const page = await browser.newPage();
  if (cookie) await page.setCookie({ name: "sessionid", value: cookie, url, httpOnly: true });
  const result = await lighthouse(
    url,
    { output: "json", onlyCategories: categories.split(","), maxWaitForLoad: 60000, logLevel: "error" },
    undefined,
    page,
  );
  fs.writeFileSync(out, result.report);
} finally {
  await browser.close();
}
