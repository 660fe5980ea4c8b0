/** An SVG path drawing QR modules (row-major, true = dark), one unit each. */
export function qrPath(width: number, dark: boolean[]): string {
  let d = '';
  for (let y = 0; y < width; y++) {
    for (let x = 0; x < width; x++) {
      if (dark[y * width + x]) d += `M${x} ${y}h1v1h-1z`;
    }
  }
  return d;
}
