import QRCode from 'qrcode'
import type { QrRenderer } from '../ports.js'

export function createQrcodeSvgRenderer (): QrRenderer {
  return {
    svg: (text) => QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 }),
  }
}
