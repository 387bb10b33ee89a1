import { describe, expect, it } from 'vitest';

/**
 * Which Node runs the suite (issue 12): .ci/run sets GATEHOUSE_EXPECT_NODE_MAJOR for each pass
 * (24 for the main run, the machine's own major for the extra SQLite pass), so a CI log that
 * claims "on Node 24" cannot silently have run on another runtime.
 */
describe('runtime', () => {
  it(`runs on a supported Node (this run: ${process.version})`, () => {
    console.log(`node --version: ${process.version}`);
    const [major, minor] = process.versions.node.split('.').map(Number);
    const supported = (major === 20 && minor >= 19) || (major === 22 && minor >= 12) || major >= 24;
    expect(supported, `Node ${process.version} is not a supported runtime (README: 22 and 24, 20.19+ kept working)`).toBe(true);
    const expected = process.env.GATEHOUSE_EXPECT_NODE_MAJOR;
    if (expected) expect(String(major)).toBe(expected);
  });
});
