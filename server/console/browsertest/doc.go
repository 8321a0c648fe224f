// Package browsertest drives the web console (package console) in a real
// browser: Debian's Chromium, headless, through chromedp, against the API
// and console over a memory store of sample entries. It holds only tests,
// apart from the normal package tests so that those stay fast.
//
// The tests need /usr/bin/chromium (apt-get install -y chromium), or
// COMPLY_CHROMIUM naming another: without it they skip, and fail when CI
// is true. COMPLY_CONSOLE_SCREENSHOTS names the directory for the
// screenshots of each page (default: a temporary one); docs/console/
// holds current ones.
package browsertest
