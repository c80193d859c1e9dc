import DefaultTheme from 'vitepress/theme';
import './diagrams.css';

// The default theme, plus the classes the pages' hand-written SVG diagrams are drawn with.
export default DefaultTheme;
